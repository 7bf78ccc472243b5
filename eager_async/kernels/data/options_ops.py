"""tf.data options: the ``tensorflow.data.Options`` an OptionsDataset sets on a pipeline,
and GetOptions, which gives a dataset's options as TF merges them.

A dataset's options are those of its inputs, merged in input order, with its own
(which only an OptionsDataset has) merged last; TF merges with protobuf's MergeFrom, so a
field set later wins, submessages merge field by field and the repeated
``framework_type`` concatenates. GetOptions serializes the result as TF's C++ does
(fields in number order): a pipeline without options gives b"".

Options are decoded with a schema of ``tensorflow.data.Options`` built here, in a private
descriptor pool (enums are carried as int32: the same varints, and nothing here reads
them).

>>> from eager_async.kernels.data.source_ops import RangeDataset
>>> slack = OptionsDataset(RangeDataset(0, 3, 1, np.dtype(np.int64)), b" \\x01")
>>> options_of(OptionsDataset(slack, b"\\x08\\x00"))
b'\\x08\\x00 \\x01'
"""

from __future__ import annotations

from collections.abc import Iterator as Iter
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

from ...errors import InvalidArgumentError
from ..registry import op
from .datasets import Dataset, Iterator, dataset_of, scalar

__all__ = ["OptionsDataset", "input_datasets", "options_of", "parse_options"]

# tensorflow/core/framework/dataset_options.proto of TF 2.21: message -> fields (number,
# name, type). Scalars have explicit presence (each in a oneof ``optional_<name>``, as
# TF declares them) except those marked "implicit".
_SCHEMA: dict[str, tuple[tuple[int, str, str], ...]] = {
    "AutotuneOptions": (
        (1, "enabled", "bool"), (2, "cpu_budget", "int32"), (3, "ram_budget", "int64"),
        (4, "autotune_algorithm", "enum"), (5, "initial_parallelism", "int64"),
        (6, "min_parallelism", "int64"),
    ),
    "DistributeOptions": ((1, "auto_shard_policy", "implicit enum"), (2, "num_devices", "int32")),
    "OptimizationOptions": tuple(
        (number, name, "bool") for number, name in (
            (1, "apply_default_optimizations"), (6, "filter_fusion"),
            (9, "map_and_batch_fusion"), (10, "map_and_filter_fusion"), (11, "map_fusion"),
            (12, "map_parallelization"), (14, "noop_elimination"), (15, "parallel_batch"),
            (17, "shuffle_and_repeat_fusion"), (18, "filter_parallelization"),
            (19, "inject_prefetch"), (21, "seq_interleave_prefetch"),
        )
    ),
    "ServiceOptions": ((1, "pinned", "bool"),),
    "ThreadingOptions": ((1, "max_intra_op_parallelism", "int32"),
                         (2, "private_threadpool_size", "int32")),
    "Options": (
        (1, "deterministic", "bool"), (2, "distribute_options", ".DistributeOptions"),
        (3, "optimization_options", ".OptimizationOptions"), (4, "slack", "bool"),
        (5, "threading_options", ".ThreadingOptions"), (6, "external_state_policy", "enum"),
        (7, "autotune_options", ".AutotuneOptions"), (8, "symbolic_checkpoint", "bool"),
        (9, "warm_start", "bool"), (10, "dataset_name", "string"),
        (11, "framework_type", "repeated string"), (12, "service_options", ".ServiceOptions"),
    ),
}  # fmt: skip

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {"bool": _F.TYPE_BOOL, "int32": _F.TYPE_INT32, "int64": _F.TYPE_INT64,
            "enum": _F.TYPE_INT32, "implicit enum": _F.TYPE_INT32, "string": _F.TYPE_STRING,
            "repeated string": _F.TYPE_STRING}  # fmt: skip


def _options_class() -> Any:
    file = descriptor_pb2.FileDescriptorProto(
        name="eager_async/dataset_options.proto", package="tensorflow.data", syntax="proto3"
    )
    for message_name, fields in _SCHEMA.items():
        declared = file.message_type.add(name=message_name)
        for number, name, kind in fields:
            field = declared.field.add(name=name, number=number, label=_F.LABEL_OPTIONAL)
            if kind.startswith("."):
                field.type, field.type_name = _F.TYPE_MESSAGE, f".tensorflow.data{kind}"
                continue
            field.type = _SCALARS[kind]
            if kind == "repeated string":
                field.label = _F.LABEL_REPEATED
            elif kind != "implicit enum":
                field.oneof_index = len(declared.oneof_decl)
                declared.oneof_decl.add(name=f"optional_{name}")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.data.Options"))


_Options = _options_class()


def parse_options(serialized: bytes) -> Any:
    """``serialized`` as a ``tensorflow.data.Options`` message; INVALID_ARGUMENT as in TF
    when it is not one."""
    try:
        return _Options.FromString(serialized)
    except message.DecodeError:
        raise InvalidArgumentError("Could not parse serialized_options as valid Options.") from None


class OptionsDataset(Dataset):
    """The input, with ``serialized`` options set on it (TF's OptionsDataset); iterating
    it iterates the input."""

    def __init__(self, input: Dataset, serialized: bytes) -> None:
        super().__init__(input.types, input.shapes)
        self.input = input
        self.options = parse_options(serialized)

    def iterate(self) -> Iterator:
        return self.input.iterate()

    def cardinality(self) -> int:
        return self.input.cardinality()


def input_datasets(dataset: Dataset) -> Iter[Dataset]:
    """The datasets ``dataset`` reads, in TF's InputDatasets order: the datasets its
    attributes hold (``input``, ``inputs``, ``first`` and ``second``), in the order the
    dataset set them. Datasets a function makes (flat_map's) are not inputs, as in TF."""
    for value in vars(dataset).values():
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, Dataset):
                yield item


def _merged(dataset: Dataset) -> Any:
    merged = _Options()
    for source in input_datasets(dataset):
        merged.MergeFrom(_merged(source))
    if isinstance(dataset, OptionsDataset):
        merged.MergeFrom(dataset.options)
    return merged


def options_of(dataset: Dataset) -> bytes:
    """The serialized options of ``dataset``, merged over its pipeline as TF merges them."""
    serialized: bytes = _merged(dataset).SerializeToString(deterministic=True)
    return serialized


@op("GetOptions", shape=scalar)
def get_options(input_dataset: np.ndarray) -> bytes:
    """The dataset's options, a serialized ``tensorflow.data.Options``."""
    return options_of(dataset_of("GetOptions", input_dataset))
