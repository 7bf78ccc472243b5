"""The ops that save and restore checkpoints on the worker that holds the variables:
SaveV2, RestoreV2, MergeV2Checkpoints, ShardedFilename, ShardedFilespec, and
DisableCopyOnRead.

``tf.train.Checkpoint.write`` sends, per device: ShardedFilename (``<prefix>_temp/part``
-> ``..._temp/part-00000-of-00001``), DisableCopyOnRead and ReadVariableOp for each
variable, SaveV2 of the values to that shard's prefix, then MergeV2Checkpoints of the
shards into ``<prefix>`` (removing the ``_temp`` directory). ``read``/``restore`` send
RestoreV2 and assign what it returns. The files are TF's (``bundle.py``), so TF reads
what we write and we read what TF writes.

SaveV2, RestoreV2 and MergeV2Checkpoints read and write files on the worker's machine at
paths the client names: they answer PERMISSION_DENIED unless the worker was started with
``--allow-file-io DIR``, and then allow only paths inside DIR (``files.py``). Their shape
rules check that too, so an async client hears of it when it enqueues the op.

``shape_and_slices`` (``slices.py``) lets SaveV2 save parts of larger tensors (as
partitioned variables are saved) and RestoreV2 restore any part of a tensor, however it
was saved; ``""`` is the whole tensor.

Where TF differs: an empty tensor name crashes TF's SaveV2 (the empty key is the header's)
and is INVALID_ARGUMENT here; V1 checkpoints (the format before the tensor bundle) are
UNIMPLEMENTED.

>>> sharded_filename(np.array(b"ckpt_temp/part", object), np.int32(0), np.int32(1))
b'ckpt_temp/part-00000-of-00001'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

import numpy as np

from ...errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnimplementedError,
)
from .._checks import STRING, shape_str, tf_name
from ..registry import op
from ..specs import Shape, TensorSpec
from ..variables import Variable
from .bundle import BundleReader, Part, dtype_of, index_file, merge_bundles, write_bundle
from .files import FileEnv, FileRoot, as_path, os_errors
from .slices import parse

__all__ = [
    "disable_copy_on_read",
    "merge_v2_checkpoints",
    "restore_v2",
    "save_v2",
    "sharded_filename",
    "sharded_filespec",
]

Tensor = TensorSpec | np.ndarray  # a rule sees specs, a kernel arrays: checks take both


def _count(shape: Shape) -> int | None:
    if shape is None or any(dim < 0 for dim in shape):
        return None
    return int(np.prod(shape, dtype=np.int64))


def _value(tensor: Tensor) -> np.ndarray | None:
    return tensor if isinstance(tensor, np.ndarray) else tensor.value


def _check_names(prefix: Tensor, names: Tensor, slices: Tensor) -> None:
    """What SaveV2 and RestoreV2 check of their first three inputs, in TF's words."""
    count = _count(prefix.shape)
    if count is not None and count != 1:
        raise InvalidArgumentError(
            f"Input prefix should have a single element, got {count} instead."
        )
    if (names.shape is not None and len(names.shape) != 1) or (
        slices.shape is not None and len(slices.shape) != 1
    ):
        raise InvalidArgumentError(
            "Input tensor_names and shape_and_slices should be an 1-D tensors, got "
            f"{shape_str(names.shape)} and {shape_str(slices.shape)} instead."
        )
    n, m = _count(names.shape), _count(slices.shape)
    if n is not None and m is not None and n != m:
        raise InvalidArgumentError(
            f"tensor_names and shape_and_slices have different number of elements: {n} vs. {m}"
        )


def _path_allowed(op_name: str, env: FileEnv, prefix: Tensor) -> FileRoot:
    """The worker's file root, with ``prefix``'s index file checked when its value is
    known; PERMISSION_DENIED when the worker allows no files or not that one."""
    root = FileRoot.of(env, op_name)
    value = _value(prefix)
    if value is not None and value.size == 1:
        root.check(index_file(as_path(value.flat[0], op_name)))
    return root


def _prefix(op_name: str, prefix: np.ndarray) -> str:
    return as_path(prefix.flat[0], op_name)


def _key(name: bytes) -> str:
    return name.decode(errors="replace")


# --- SaveV2 -------------------------------------------------------------------------------


def _save_rule(
    prefix: Tensor, tensor_names: Tensor, shape_and_slices: Tensor, tensors: Sequence[Tensor],
    *, env: FileEnv,
) -> None:  # fmt: skip
    _check_names(prefix, tensor_names, shape_and_slices)
    count = _count(tensor_names.shape)
    if count is not None and count != len(tensors):
        raise InvalidArgumentError(f"Got {count} tensor names but {len(tensors)} tensors.")
    _path_allowed("SaveV2", env, prefix)


def _to_save(name: bytes, spec: bytes, tensor: np.ndarray, index: int) -> Part:
    """Check one tensor SaveV2 was given: its name, its kind and its ``shape_and_slice``;
    the part of a larger tensor it is, if it is one."""
    if not name:
        raise InvalidArgumentError(
            f"SaveV2: tensor_names[{index}] is empty; name every tensor (the empty name is "
            "where a checkpoint keeps its header)"
        )
    if tensor.dtype == STRING and not all(isinstance(x, bytes) for x in tensor.flat):
        raise UnimplementedError(
            f"SaveV2: {_key(name)} is a resource or variant tensor (a variable's handle, a "
            "dataset iterator's state); eager_async saves tensors of numbers and strings only"
        )
    if not spec:
        return None
    part = parse(spec)
    if part.slice_shape != tensor.shape:
        raise InvalidArgumentError(
            "Slice in shape_and_slice specification does not match the shape of the "
            f"tensor to  save: {spec.decode(errors='replace')}, tensor: "
            f"{shape_str(tensor.shape)}"
        )
    return None if part.is_full else part


@op("SaveV2", shape=_save_rule)
def save_v2(
    prefix: np.ndarray, tensor_names: np.ndarray, shape_and_slices: np.ndarray,
    tensors: list[np.ndarray], *, env: FileEnv,
) -> None:  # fmt: skip
    """Write ``tensors`` under ``tensor_names`` (each whole, or as the part of a larger
    tensor its ``shape_and_slices`` entry names) as the V2 checkpoint ``prefix``:
    ``<prefix>.index`` and ``<prefix>.data-00000-of-00001``."""
    _save_rule(prefix, tensor_names, shape_and_slices, tensors, env=env)
    root = FileRoot.of(env, "SaveV2")
    items = [
        (name, tensor, _to_save(name, spec, tensor, index))
        for index, (name, spec, tensor) in enumerate(
            zip(tensor_names.flat, shape_and_slices.flat, tensors, strict=True)
        )
    ]
    with os_errors():
        write_bundle(_prefix("SaveV2", prefix), items, root)


# --- RestoreV2 ----------------------------------------------------------------------------


def _restore_rule(
    prefix: Tensor, tensor_names: Tensor, shape_and_slices: Tensor, *, dtypes: list[np.dtype],
    env: FileEnv,
) -> list[Shape]:  # fmt: skip
    count = _count(tensor_names.shape)
    if count is not None and count != len(dtypes):
        raise InvalidArgumentError(f"Got {count} tensor names, but {len(dtypes)} expected dtypes.")
    _check_names(prefix, tensor_names, shape_and_slices)
    specs = _value(shape_and_slices)
    shapes: list[Shape] = [None] * len(dtypes)
    if specs is not None and specs.size == len(dtypes):
        shapes = [parse(spec).slice_shape if spec else None for spec in specs.flat]
    _path_allowed("RestoreV2", env, prefix)
    return shapes


@op("RestoreV2", shape=_restore_rule)
def restore_v2(
    prefix: np.ndarray, tensor_names: np.ndarray, shape_and_slices: np.ndarray, *,
    dtypes: list[np.dtype], env: FileEnv,
) -> list[np.ndarray]:  # fmt: skip
    """The tensors ``tensor_names`` (of ``dtypes``; each whole, or the part its
    ``shape_and_slices`` entry names) of the V2 checkpoint ``prefix``."""
    _restore_rule(prefix, tensor_names, shape_and_slices, dtypes=dtypes, env=env)
    root = FileRoot.of(env, "RestoreV2")
    path = _prefix("RestoreV2", prefix)
    with os_errors():
        if not os.path.exists(index_file(path)):
            if root.contains(path) and os.path.isfile(path):
                raise UnimplementedError(
                    f"{path} is a V1 checkpoint (no {index_file(path)}); eager_async reads "
                    "V2 checkpoints only: re-save it with tf.train.Checkpoint"
                )
            raise NotFoundError(
                "Unsuccessful TensorSliceReader constructor: Failed to find any matching "
                f"files for {path}"
            )
        reader = BundleReader(path, root)
        return [
            _restore_one(reader, name, spec, dtype)
            for name, spec, dtype in zip(tensor_names.flat, shape_and_slices.flat, dtypes,
                                         strict=True)
        ]  # fmt: skip


def _restore_one(reader: BundleReader, name: bytes, spec: bytes, dtype: np.dtype) -> np.ndarray:
    entry = reader.entry(name)
    stored = dtype_of(entry, name)
    if stored != dtype:
        raise InvalidArgumentError(
            f"tensor_name = {_key(name)}; expected dtype {tf_name(dtype)} does not equal "
            f"original dtype {tf_name(stored)}"
        )
    if not spec:
        return reader.read(name)
    part = parse(spec)
    shape = tuple(dim.size for dim in entry.shape.dim) if entry.shape else ()
    if part.shape != shape:
        raise InvalidArgumentError(
            f"tensor_name = {_key(name)}; shape in shape_and_slice spec "
            f"{shape_str(part.shape)} does not match the shape stored in checkpoint: "
            f"{shape_str(shape)}"
        )
    return reader.read(name, part)


# --- MergeV2Checkpoints -------------------------------------------------------------------


def _merge_rule(checkpoint_prefixes: Tensor, destination_prefix: Tensor, *, env: FileEnv) -> None:
    if checkpoint_prefixes.shape is not None and len(checkpoint_prefixes.shape) != 1:
        raise InvalidArgumentError(
            "Input checkpoint_prefixes should be an 1-D tensor, got "
            f"{shape_str(checkpoint_prefixes.shape)} instead."
        )
    if destination_prefix.shape is not None and destination_prefix.shape != ():
        raise InvalidArgumentError(
            "Input destination_prefix should be a scalar tensor, got "
            f"{shape_str(destination_prefix.shape)} instead."
        )
    _path_allowed("MergeV2Checkpoints", env, destination_prefix)


@op("MergeV2Checkpoints", shape=_merge_rule)
def merge_v2_checkpoints(
    checkpoint_prefixes: np.ndarray, destination_prefix: np.ndarray, *, delete_old_dirs: bool,
    allow_missing_files: bool, env: FileEnv,
) -> None:  # fmt: skip
    """Join the V2 checkpoints ``checkpoint_prefixes`` (one per device) into one at
    ``destination_prefix``; with ``delete_old_dirs``, remove their directories when that
    leaves them empty (other than the destination's)."""
    _merge_rule(checkpoint_prefixes, destination_prefix, env=env)
    root = FileRoot.of(env, "MergeV2Checkpoints")
    prefixes = [as_path(p, "MergeV2Checkpoints") for p in checkpoint_prefixes.flat]
    merged = _prefix("MergeV2Checkpoints", destination_prefix)
    with os_errors():
        merge_bundles(prefixes, merged, root, allow_missing_files)
    if delete_old_dirs:
        keep = os.path.dirname(merged)
        for directory in {os.path.dirname(p) for p in prefixes} - {keep, ""}:
            # Best effort, as in TF: a directory that is not empty, or gone, stays as is.
            with contextlib.suppress(OSError, PermissionDeniedError):
                root.check(directory)
                os.rmdir(directory)


# --- file names ---------------------------------------------------------------------------


def _scalars(**inputs: Tensor) -> tuple[()]:
    for name, tensor in inputs.items():
        if tensor.shape is not None and tensor.shape != ():
            raise InvalidArgumentError(
                f"{name} must be a scalar, got shape {shape_str(tensor.shape)}"
            )
    return ()


def _sharded_filename_rule(
    basename: TensorSpec, shard: TensorSpec, num_shards: TensorSpec
) -> Shape:
    return _scalars(basename=basename, shard=shard, num_shards=num_shards)


@op("ShardedFilename", shape=_sharded_filename_rule)
def sharded_filename(basename: np.ndarray, shard: np.ndarray, num_shards: np.ndarray) -> bytes:
    """``<basename>-<shard>-of-<num_shards>``, numbers zero-padded to 5 digits."""
    _scalars(basename=basename, shard=shard, num_shards=num_shards)
    return b"%s-%05d-of-%05d" % (basename.item(), int(shard), int(num_shards))


def _sharded_filespec_rule(basename: TensorSpec, num_shards: TensorSpec) -> Shape:
    return _scalars(basename=basename, num_shards=num_shards)


@op("ShardedFilespec", shape=_sharded_filespec_rule)
def sharded_filespec(basename: np.ndarray, num_shards: np.ndarray) -> bytes:
    """The glob of every shard's name: ``<basename>-?????-of-<num_shards>``."""
    _scalars(basename=basename, num_shards=num_shards)
    return b"%s-?????-of-%05d" % (basename.item(), int(num_shards))


# --- DisableCopyOnRead --------------------------------------------------------------------


def _handle_rule(resource: Tensor) -> None:
    if resource.shape is not None and resource.shape != ():
        raise InvalidArgumentError(
            "DisableCopyOnRead: input 0 must be a resource handle (the output of "
            f"VarHandleOp), not a tensor of shape {shape_str(resource.shape)}"
        )


@op("DisableCopyOnRead", shape=_handle_rule)
def disable_copy_on_read(resource: np.ndarray) -> None:
    """Nothing: TF turns off a variable's copy-on-read mode (kept for sparse updates)
    before saving it; eager_async variables have no such mode. The input must be a
    variable's handle."""
    _handle_rule(resource)
    if not isinstance(resource.item(), Variable):
        raise InvalidArgumentError(
            "DisableCopyOnRead: input 0 must be a resource handle (the output of "
            f"VarHandleOp), not a {tf_name(resource.dtype)} tensor"
        )
