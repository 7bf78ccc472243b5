"""Ops that change how a pipeline runs, not what it yields (PrefetchDataset, OptionsDataset,
ModelDataset, MaxIntraOpParallelismDataset, PrivateThreadPoolDataset, RewriteDataset:
they check their arguments and return their input), the in-memory cache
(CacheDatasetV2 with AnonymousMemoryCache, DummyMemoryCache, DeleteMemoryCache), and
DatasetCardinality.

Pulling is synchronous: a prefetch buffer would fill with the same elements in the same
order, only earlier.

The cache as TF keeps it: an iterator made before the cache is complete reads the input
and keeps what it reads for itself; the first to reach the end (or as many elements as
the input's cardinality) completes the cache, and iterators made later read the cache.
What an iterator that stops early has read is dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InvalidArgumentError, UnimplementedError
from ..registry import no_outputs, op
from ..specs import Shape, TensorSpec
from .datasets import (
    Dataset,
    Element,
    Iterator,
    dataset_of,
    held,
    int_value,
    object_of,
    object_or_dummy,
    scalar,
    scalar_arg,
    variant,
)
from .options_ops import OptionsDataset
from .source_ops import ListDataset

__all__ = ["CacheDataset", "MemoryCache"]

_AUTOTUNE = -1


def _passthrough(op_name: str, input_dataset: np.ndarray) -> np.ndarray:
    return variant(dataset_of(op_name, input_dataset))


def _check_at_least_zero(name: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise InvalidArgumentError(f"`{name}` must be >= 0")


def _check_prefetch(size: int | None) -> None:
    if size is not None and size < 0 and size != _AUTOTUNE:
        raise InvalidArgumentError(
            "buffer_size must be >= 0 or set buffer_size to be -1 for auto-tuning"
        )


def _prefetch_rule(input_dataset: TensorSpec, buffer_size: TensorSpec, **attrs: Any) -> Shape:
    _check_prefetch(int_value(buffer_size, "buffer_size"))
    return ()


@op("PrefetchDataset", shape=_prefetch_rule)
def prefetch_dataset(input_dataset: np.ndarray, buffer_size: np.ndarray) -> np.ndarray:
    """The input (elements are pulled when asked for)."""
    _check_prefetch(scalar_arg("buffer_size", buffer_size))
    return _passthrough("PrefetchDataset", input_dataset)


@op("OptionsDataset", shape=scalar)
def options_dataset(input_dataset: np.ndarray, *, serialized_options: bytes) -> np.ndarray:
    """The input with its options set (GetOptions reads them; they tune TF's runtime,
    which this worker does not have)."""
    dataset = dataset_of("OptionsDataset", input_dataset)
    return variant(OptionsDataset(dataset, serialized_options))


@op("ModelDataset", shape=scalar)
def model_dataset(input_dataset: np.ndarray) -> np.ndarray:
    """The input (autotuning has nothing to tune here)."""
    return _passthrough("ModelDataset", input_dataset)


@op("RewriteDataset", shape=scalar)
def rewrite_dataset(input_dataset: np.ndarray, rewrite_name: np.ndarray) -> np.ndarray:
    """The input (TF's graph rewrites do not change elements)."""
    return _passthrough("RewriteDataset", input_dataset)


def _max_intra_rule(input_dataset: TensorSpec, max_intra_op_parallelism: TensorSpec,
                    **attrs: Any) -> Shape:  # fmt: skip
    name = "max_intra_op_parallelism"
    _check_at_least_zero(name, int_value(max_intra_op_parallelism, name))
    return ()


@op("MaxIntraOpParallelismDataset", shape=_max_intra_rule)
def max_intra_op_parallelism_dataset(
    input_dataset: np.ndarray, max_intra_op_parallelism: np.ndarray
) -> np.ndarray:
    """The input (kernels here run on one thread each)."""
    name = "max_intra_op_parallelism"
    _check_at_least_zero(name, scalar_arg(name, max_intra_op_parallelism))
    return _passthrough("MaxIntraOpParallelismDataset", input_dataset)


def _thread_pool_rule(input_dataset: TensorSpec, num_threads: TensorSpec,
                      **attrs: Any) -> Shape:  # fmt: skip
    _check_at_least_zero("num_threads", int_value(num_threads, "num_threads"))
    return ()


@op("PrivateThreadPoolDataset", shape=_thread_pool_rule)
def private_thread_pool_dataset(input_dataset: np.ndarray, num_threads: np.ndarray) -> np.ndarray:
    """The input (the pipeline runs in its context's worker thread)."""
    _check_at_least_zero("num_threads", scalar_arg("num_threads", num_threads))
    return _passthrough("PrivateThreadPoolDataset", input_dataset)


@op("DatasetCardinality", shape=scalar)
def dataset_cardinality(input_dataset: np.ndarray) -> np.ndarray:
    """The number of elements: -1 infinite, -2 unknown, as TF computes it."""
    return np.array(dataset_of("DatasetCardinality", input_dataset).cardinality(), np.int64)


# --- the in-memory cache ----------------------------------------------------------------


class MemoryCache:
    """The elements of one complete pass, once an iterator has read one."""

    def __init__(self) -> None:
        self.elements: list[Element] | None = None


class _Deleter:
    """What AnonymousMemoryCache's ``deleter`` holds."""


class _NoCache:
    """What DummyMemoryCache's handle holds: "use a cache of your own"."""


class CacheDataset(Dataset):
    """The input, read once and then served from ``cache``."""

    def __init__(self, input: Dataset, cache: MemoryCache) -> None:
        super().__init__(input.types, input.shapes)
        self.input, self.cache = input, cache

    def iterate(self) -> Iterator:
        if self.cache.elements is not None:
            return ListDataset(self.cache.elements, self.types, self.shapes).iterate()
        return _Caching(self, self.input.iterate())

    def cardinality(self) -> int:
        return self.input.cardinality()


class _Caching(Iterator):
    def __init__(self, dataset: CacheDataset, input: Iterator) -> None:
        self.dataset, self.input = dataset, input
        self.read: list[Element] = []

    def _complete(self) -> None:
        if self.dataset.cache.elements is None:
            self.dataset.cache.elements = self.read

    def _next(self) -> Element | None:
        element = self.input.next()
        if element is None:
            self._complete()
            return None
        self.read.append(element)
        if len(self.read) == self.dataset.input.cardinality():
            self._complete()
        return element


def _cache_of(op_name: str, handle: np.ndarray) -> MemoryCache | None:
    """The cache a cache input holds; None for DummyMemoryCache's."""
    return object_or_dummy(
        op_name, handle, MemoryCache, _NoCache,
        "a memory cache (the output of AnonymousMemoryCache or DummyMemoryCache)",
    )  # fmt: skip


@op("CacheDatasetV2", shape=scalar)
def cache_dataset_v2(
    input_dataset: np.ndarray, filename: np.ndarray, cache: np.ndarray
) -> np.ndarray:
    """The input, cached in memory (``filename`` must be empty)."""
    name = held(filename)
    if name not in (b"", ""):
        raise UnimplementedError(
            f"CacheDatasetV2: eager_async caches datasets in memory only, not in files "
            f"({name!r}); call cache() without a filename"
        )
    memory = _cache_of("CacheDatasetV2", cache) or MemoryCache()
    return variant(CacheDataset(dataset_of("CacheDatasetV2", input_dataset), memory))


def _cache_rule() -> list[Shape]:
    return [(), ()]


@op("AnonymousMemoryCache", shape=_cache_rule)
def anonymous_memory_cache() -> tuple[np.ndarray, np.ndarray]:
    """A memory cache datasets can share, and its deleter."""
    return variant(MemoryCache()), variant(_Deleter())


@op("DummyMemoryCache", shape=scalar)
def dummy_memory_cache() -> np.ndarray:
    """A handle telling a cache dataset to keep its own cache."""
    return variant(_NoCache())



@op("DeleteMemoryCache", shape=no_outputs)
def delete_memory_cache(handle: np.ndarray, deleter: np.ndarray) -> None:
    """Nothing to free: a cache lives as long as a handle or a dataset holds it."""
    _cache_of("DeleteMemoryCache", handle)
    object_of("DeleteMemoryCache", deleter, _Deleter, "the deleter of AnonymousMemoryCache")
