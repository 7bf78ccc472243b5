"""TF's tensor bundle, the V2 checkpoint format: the files SaveV2 writes and RestoreV2
reads, and how MergeV2Checkpoints joins several into one.

A bundle at ``prefix`` is

- ``<prefix>.index``: a table (``table.py``) from tensor names to ``BundleEntryProto``s
  (dtype, shape, which data file, byte range, masked crc32c of those bytes), in name
  order, under a first key ``""`` whose value is a ``BundleHeaderProto`` (how many data
  files, byte order, format version);
- ``<prefix>.data-00000-of-00001`` (``-NNNNN-of-MMMMM`` once merged): the tensors' bytes
  back to back, in the order they were saved. A number tensor is its raw little-endian,
  C-order elements. A string tensor is the varint64 length of each element, a fixed32
  masked crc32c of those lengths (taken over each length as 4 little-endian bytes, or 8
  past 2**32 - 1), then the elements' bytes; its entry's crc covers the lengths (taken
  the same way), that fixed32 and the bytes.

A tensor saved in parts (a partitioned variable) has an entry listing its parts, and
each part is a tensor of its own under a key naming it (``slices.slice_key``).

We write what TF writes, byte for byte for the same tensors. What we cannot read, we
refuse with UNIMPLEMENTED naming it: DT_VARIANT tensors (datasets' iterators) and
big-endian bundles.

>>> write_bundle("/tmp/ckpt", [(b"w", np.ones(2, np.float32))], root)   # doctest: +SKIP
>>> BundleReader("/tmp/ckpt", root).read(b"w")                        # doctest: +SKIP
array([1., 1.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import itertools
import os
import struct
from collections.abc import Sequence

import numpy as np

from ..._proto.tensorflow import (
    BundleEntryProto,
    BundleHeaderProto,
    BundleHeaderProtoEndianness,
    DataType,
    VersionDef,
)
from ...dtypes import dtype_name, from_numpy, to_numpy
from ...errors import DataLossError, InvalidArgumentError, NotFoundError, UnimplementedError
from ...tensors import content_of, decode_shape, encode_shape
from .coding import crc32c, fixed32, mask, read_fixed32, read_varint, unmask, varint
from .files import FileRoot, atomic_writer, make_parent, read_bytes
from .slices import ShapeAndSlice, slice_key
from .table import read_table, write_table

__all__ = [
    "BundleReader",
    "Part",
    "data_file",
    "dtype_of",
    "index_file",
    "merge_bundles",
    "write_bundle",
]

HEADER_KEY = b""
# The format version written and read; a bundle needing a newer reader says so in its
# header's min_consumer.
_VERSION = 1
_U32_MAX = 2**32 - 1


def index_file(prefix: str) -> str:
    """The index (metadata) file of the bundle at ``prefix``."""
    return f"{prefix}.index"


def data_file(prefix: str, shard: int, num_shards: int) -> str:
    """Data file ``shard`` of ``num_shards`` of the bundle at ``prefix``."""
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def _key(key: bytes) -> str:
    return key.decode(errors="replace")


# --- tensors <-> bytes ------------------------------------------------------------------


def _length_crc(lengths: Sequence[int]) -> int:
    if all(n <= _U32_MAX for n in lengths):
        return crc32c(np.asarray(lengths, dtype="<u4").tobytes())
    crc = 0
    for n in lengths:
        crc = crc32c(struct.pack("<I" if n <= _U32_MAX else "<Q", n), crc)
    return crc


def _encode(array: np.ndarray) -> tuple[DataType, bytes, int]:
    """The dtype, the bytes a data file holds for ``array`` and their crc32c (unmasked).
    An object array must hold ``bytes`` (a string tensor)."""
    if array.dtype != np.dtype(object):
        content = content_of(array)
        return from_numpy(array.dtype), content, crc32c(content)
    values: list[bytes] = list(array.flat)
    lengths = [len(value) for value in values]
    crc = _length_crc(lengths)
    checksum = fixed32(mask(crc))
    strings = b"".join(values)
    crc = crc32c(strings, crc32c(checksum, crc))
    return DataType.DT_STRING, b"".join(map(varint, lengths)) + checksum + strings, crc


def _decode_strings(data: bytes, count: int, where: str) -> tuple[np.ndarray, int]:
    if not data:  # what TF reads for a string entry of no bytes
        return np.full(count, b"", dtype=object), 0
    if count > len(data):
        raise DataLossError(f"{where}: {count} strings cannot fit in {len(data)} bytes")
    lengths = []
    position = 0
    for _ in range(count):
        length, position = read_varint(data, position)
        lengths.append(length)
    crc = _length_crc(lengths)
    if position + 4 > len(data):
        raise DataLossError(f"{where}: the string lengths run past the entry's bytes")
    stored = unmask(read_fixed32(data, position))
    if stored != crc:
        raise DataLossError(
            f"The length checksum does not match: expected {stored:08d} but actual is {crc:08d}"
        )
    crc = crc32c(data[position : position + 4], crc)
    position += 4
    ends = list(itertools.accumulate(lengths, initial=position))
    if ends[-1] > len(data):
        raise DataLossError(f"{where}: the strings run past the entry's bytes")
    values = np.empty(count, dtype=object)
    values[:] = [data[start:end] for start, end in itertools.pairwise(ends)]
    return values, crc32c(data[position : ends[-1]], crc)


def _decode_numbers(data: bytes, dtype: np.dtype, count: int) -> tuple[np.ndarray, int]:
    array = np.frombuffer(data, dtype=dtype.newbyteorder("<"), count=count)
    if dtype.kind == "b":  # TF reads any non-zero byte as true
        return array.view(np.uint8) != 0, crc32c(data)
    return array.astype(dtype, copy=True), crc32c(data)


# --- writing ------------------------------------------------------------------------------


def _header(num_shards: int, version: VersionDef | None = None) -> bytes:
    return bytes(
        BundleHeaderProto(
            num_shards=num_shards,
            endianness=BundleHeaderProtoEndianness.LITTLE,
            version=version if version is not None else VersionDef(producer=_VERSION),
        )
    )


def _write_index(prefix: str, header: bytes, entries: dict[bytes, BundleEntryProto]) -> None:
    records = [(HEADER_KEY, header)] + [(key, bytes(entries[key])) for key in sorted(entries)]
    with atomic_writer(index_file(prefix)) as out:
        out.write(write_table(records))


Part = ShapeAndSlice | None
"""Which part of a larger tensor an array is; None: all of it."""


def write_bundle(
    prefix: str, tensors: Sequence[tuple[bytes, np.ndarray, Part]], root: FileRoot
) -> None:
    """Write ``tensors`` (name, array of numbers or ``bytes``, part) as the bundle at
    ``prefix``, creating its directory (one level), replacing any bundle there.
    INVALID_ARGUMENT for a name saved twice (or a part of it twice)."""
    index, data = index_file(prefix), data_file(prefix, 0, 1)
    root.check(index)
    root.check(data)
    make_parent(prefix)
    entries: dict[bytes, BundleEntryProto] = {}
    offset = 0
    with atomic_writer(data) as out:
        for name, array, part in tensors:
            key = name if part is None else _add_part(entries, name, array, part)
            if key in entries:
                raise InvalidArgumentError(f"Adding duplicate key: {_key(key)}")
            dtype, content, crc = _encode(array)
            out.write(content)
            entries[key] = BundleEntryProto(
                dtype=dtype, shape=encode_shape(array.shape), shard_id=0, offset=offset,
                size=len(content), crc32c=mask(crc),
            )  # fmt: skip
            offset += len(content)
    _write_index(prefix, _header(1), entries)


def _add_part(
    entries: dict[bytes, BundleEntryProto], name: bytes, array: np.ndarray, part: ShapeAndSlice
) -> bytes:
    """List ``part`` in the entry of tensor ``name`` (made on its first part); the key
    the part's own entry goes under."""
    dtype = from_numpy(array.dtype)
    entry = entries.get(name)
    if entry is None:
        entry = entries[name] = BundleEntryProto(dtype=dtype, shape=encode_shape(part.shape))
    elif not entry.slices:
        raise InvalidArgumentError(f"Adding duplicate key: {_key(name)}")
    elif entry.dtype != dtype or decode_shape(entry.shape) != part.shape:
        raise InvalidArgumentError(
            f"{_key(name)} is saved in parts of different dtypes or full shapes: "
            f"{dtype_name(entry.dtype)} {list(decode_shape(entry.shape) or ())} and "
            f"{dtype_name(dtype)} {list(part.shape)}"
        )
    entry.slices.append(part.to_proto())
    return slice_key(name, part.extents)


# --- reading ------------------------------------------------------------------------------


def _parse_entry(key: bytes, value: bytes) -> BundleEntryProto:
    try:
        return BundleEntryProto.parse(value)
    except Exception:  # betterproto2 raises assorted errors for bad bytes
        raise DataLossError(f"Entry for key {_key(key)} not parseable.") from None


def _open(prefix: str, root: FileRoot) -> tuple[BundleHeaderProto, dict[bytes, bytes]]:
    """The header and the other records of the bundle at ``prefix``."""
    index = index_file(prefix)
    root.check(index)
    records = read_table(read_bytes(index), index)
    if not records or records[0][0] != HEADER_KEY:
        raise DataLossError(
            f"Unable to read file ({index}). Perhaps the file is corrupt or was produced by "
            "a newer version of TensorFlow with format changes (failed to seek to header entry)"
        )
    try:
        header = BundleHeaderProto.parse(records[0][1])
    except Exception:
        raise DataLossError(f"Unable to read file ({index}): unable to parse header") from None
    version = header.version or VersionDef()
    if version.min_consumer > _VERSION or _VERSION in version.bad_consumers:
        raise InvalidArgumentError(
            f"Checkpoint {prefix} needs a reader of format version {version.min_consumer} "
            f"or later, and eager_async reads version {_VERSION}; re-save it with a "
            "TensorFlow that writes version 1"
        )
    return header, dict(records[1:])


class BundleReader:
    """The bundle at ``prefix``, open for lookups; every file it reads is checked
    against ``root``."""

    def __init__(self, prefix: str, root: FileRoot) -> None:
        self.prefix = prefix
        self.root = root
        self.header, self._records = _open(prefix, root)
        if self.header.endianness != BundleHeaderProtoEndianness.LITTLE:
            raise UnimplementedError(
                f"Checkpoint {prefix} was written on a big-endian machine; eager_async "
                "reads little-endian checkpoints only"
            )

    def entry(self, key: bytes) -> BundleEntryProto:
        """The entry of tensor ``key``; NOT_FOUND when the bundle has none."""
        value = self._records.get(key)
        if value is None or key == HEADER_KEY:
            raise NotFoundError(f"Key {_key(key)} not found in checkpoint")
        entry = _parse_entry(key, value)
        shape = entry.shape.dim if entry.shape is not None else []
        if any(dim.size < 0 for dim in shape) or (entry.shape and entry.shape.unknown_rank):
            raise DataLossError(f"Invalid tensor shape: {_key(key)} {entry.shape}")
        return entry

    def read(self, key: bytes, part: Part = None) -> np.ndarray:
        """Tensor ``key``, or ``part`` of it, wherever it is saved whole or in parts."""
        entry = self.entry(key)
        if not entry.slices:
            whole = self._read(key, entry)
            return whole if part is None else whole[part.index].copy()
        shape = decode_shape(entry.shape) or ()
        want = part if part is not None else ShapeAndSlice(shape, (None,) * len(shape))
        out = np.zeros(want.slice_shape, dtype_of(entry, key))
        if out.dtype == np.dtype(object):
            out.fill(b"")
        covered = 0
        for proto in entry.slices:
            stored = ShapeAndSlice.from_proto(proto, shape)
            overlap = [
                (max(a, c), min(b, d))
                for (a, b), (c, d) in zip(stored.bounds, want.bounds, strict=True)
            ]
            if any(start >= stop for start, stop in overlap):
                continue
            covered += int(np.prod([stop - start for start, stop in overlap]))
            values = self._read_part(key, stored, out.dtype)
            into = tuple(
                slice(lo - c, hi - c) for (lo, hi), (c, _) in zip(overlap, want.bounds, strict=True)
            )
            source = tuple(
                slice(lo - a, hi - a)
                for (lo, hi), (a, _) in zip(overlap, stored.bounds, strict=True)
            )
            out[into] = values[source]
        if covered != out.size:
            raise InvalidArgumentError(
                f"Does not have sufficient slices for partitioned tensor {_key(key)} to "
                f"restore in slice_spec: {want.text}"
            )
        return out

    def _read_part(self, key: bytes, part: ShapeAndSlice, dtype: np.dtype) -> np.ndarray:
        part_key = slice_key(key, part.extents)
        entry = self.entry(part_key)
        values = self._read(part_key, entry)
        if values.dtype != dtype or values.shape != part.slice_shape:
            raise DataLossError(
                f"part {part.text} of {_key(key)} is stored as {values.dtype} "
                f"{list(values.shape)}, not {dtype} {list(part.slice_shape)}"
            )
        return values

    def _read(self, key: bytes, entry: BundleEntryProto) -> np.ndarray:
        """The tensor whose bytes ``entry`` locates."""
        dtype = dtype_of(entry, key)
        shape = decode_shape(entry.shape) or ()
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if dtype != np.dtype(object) and entry.size != count * dtype.itemsize:
            raise DataLossError(
                f"Invalid size in bundle entry: key {_key(key)}; stored size {entry.size}; "
                f"expected size {count * dtype.itemsize}"
            )
        path = data_file(self.prefix, entry.shard_id, self.header.num_shards)
        self.root.check(path)
        data = read_bytes(path, entry.offset, entry.size)
        if len(data) != entry.size:
            raise DataLossError(
                f"{path} ends before the {entry.size} bytes of {_key(key)} at offset "
                f"{entry.offset}: the checkpoint is truncated"
            )
        if dtype == np.dtype(object):
            values, crc = _decode_strings(data, count, f"{path}: {_key(key)}")
        else:
            values, crc = _decode_numbers(data, dtype, count)
        if unmask(entry.crc32c) != crc:
            raise DataLossError(
                f"TensorBundle at {self.prefix} shard {entry.shard_id} ({entry.size} bytes): "
                f"Checksum does not match: stored {unmask(entry.crc32c):08d} vs. calculated "
                f"on the restored bytes {crc}"
            )
        return values.reshape(shape)


def dtype_of(entry: BundleEntryProto, key: bytes) -> np.dtype:
    """The NumPy dtype of the tensor an entry describes; UNIMPLEMENTED for the dtypes
    eager_async holds no tensors of (variants, quantized types)."""
    try:
        return to_numpy(entry.dtype)
    except InvalidArgumentError:
        raise UnimplementedError(
            f"{_key(key)} is a {dtype_name(entry.dtype)} tensor, which eager_async cannot restore"
        ) from None


# --- merging ------------------------------------------------------------------------------


def merge_bundles(
    prefixes: Sequence[str], merged: str, root: FileRoot, allow_missing_files: bool
) -> None:
    """Join the bundles at ``prefixes`` into one at ``merged``: their data files are
    renamed to be its shards, its index lists every entry, and their index files are
    removed."""
    root.check(index_file(merged))
    make_parent(merged)
    num_shards = 0
    first: BundleHeaderProto | None = None
    entries: dict[bytes, BundleEntryProto] = {}
    shards: dict[str, int] = {}
    for prefix in prefixes:
        root.check(index_file(prefix))
        if not os.path.exists(index_file(prefix)):
            if allow_missing_files:
                continue
            status = "OK" if os.path.exists(prefix) else f"NOT_FOUND: {prefix} not found"
            raise InvalidArgumentError(
                f"allow_missing_files was set to false and {prefix} did not exist.{status}"
            )
        header, records = _open(prefix, root)
        num_shards += header.num_shards
        if first is None:
            first = header
        elif header.endianness != first.endianness:
            raise InvalidArgumentError(
                "Merging bundles with conflicting endianness; inputs corrupted?"
            )
        elif bytes(header.version or VersionDef()) != bytes(first.version or VersionDef()):
            raise InvalidArgumentError(
                f"Merging bundles with different format versions: merged {first.version} vs. "
                f"curr {header.version}"
            )
        _merge_entries(prefix, header.num_shards, records, entries, shards)
    if first is None:
        raise InvalidArgumentError(
            "At least one prefix checkpoint file must exist, but none existed."
        )
    targets = {source: data_file(merged, shard, len(shards)) for source, shard in shards.items()}
    for source, target in targets.items():
        root.check(source)
        root.check(target)
    for source, target in targets.items():
        os.rename(source, target)
    _write_index(merged, _header(num_shards, first.version), entries)
    for prefix in prefixes:
        if index_file(prefix) != index_file(merged):
            with contextlib.suppress(OSError):  # best effort, as in TF
                os.unlink(index_file(prefix))


def _merge_entries(
    prefix: str,
    num_shards: int,
    records: dict[bytes, bytes],
    entries: dict[bytes, BundleEntryProto],
    shards: dict[str, int],
) -> None:
    """Add one bundle's entries to ``entries``, each pointing at its data file's shard
    number in the merged bundle (``shards``: data file -> number, in order of first use)."""
    for key, value in records.items():
        existing = entries.get(key)
        if existing is not None and not existing.slices:
            raise InvalidArgumentError(
                f"Duplicate tensor keyed by {_key(key)} encountered, when merging prefix: {prefix}"
            )
        entry = _parse_entry(key, value)
        if existing is not None:  # the slices of one partitioned tensor, saved apart
            if not entry.slices:
                raise InvalidArgumentError(
                    f"Duplicate tensor keyed by {_key(key)}; attempting to merge in a "
                    "non-slice bundle entry"
                )
            existing.slices += entry.slices
            continue
        source = data_file(prefix, entry.shard_id, num_shards)
        entry.shard_id = shards.setdefault(source, len(shards))
        entries[key] = entry
