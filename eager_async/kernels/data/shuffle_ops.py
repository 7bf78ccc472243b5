"""ShuffleDatasetV3 and V2 with TF's seed generators (AnonymousSeedGenerator,
DummySeedGenerator, DeleteSeedGenerator), in TF's order, bit for bit.

TF's shuffle fills a buffer of ``buffer_size`` elements (a ring), then gives the element
at ``start + r % filled`` of it, where r is the next word of a Philox stream keyed by the
iterator's seeds (TF's ``PhiloxRandom(seed, seed2)`` read one uint32 at a time), moves
the ring's first element into the hole and refills. Each iterator takes its seeds from
the dataset's seed generator when it is made: a fixed generator gives ``(seed, seed2)``
every time, a reshuffling one the next two words of its own Philox stream keyed by
``(seed, seed2)``. Seeds (0, 0) mean "random", as in TF.

>>> from eager_async.kernels.data.source_ops import RangeDataset
>>> ten = RangeDataset(0, 10, 1, np.dtype(np.int64))
>>> it = ShuffleDataset(ten, 10, SeedGenerator(1, 2, reshuffle=False)).iterate()
>>> [int(it.next()[0]) for _ in range(10)]
[9, 0, 8, 6, 1, 3, 7, 2, 4, 5]
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np

from ...errors import InvalidArgumentError
from ..philox import Philox
from ..registry import no_outputs, op
from ..specs import Shape, TensorSpec
from .datasets import (
    UNKNOWN,
    Dataset,
    Element,
    Iterator,
    dataset_of,
    int_value,
    object_of,
    object_or_dummy,
    scalar,
    scalar_arg,
    variant,
)

__all__ = ["PhiloxWords", "SeedGenerator", "ShuffleDataset"]

_CHUNK = 64  # Philox blocks computed per NumPy call


class PhiloxWords:
    """TF's ``SingleSampleAdapter<PhiloxRandom>(PhiloxRandom(seed, seed2))``: the uint32
    words of the stream keyed by ``seed`` with counter ``(0, seed2)``, one per call."""

    def __init__(self, seed: int, seed2: int) -> None:
        self.stream = Philox(seed % 2**64, (0, seed2 % 2**64))
        self.block = 0
        self.words: list[int] = []
        self.used = 0

    def __call__(self) -> int:
        if self.used == len(self.words):
            offsets = np.arange(self.block, self.block + _CHUNK, dtype=np.uint64)
            self.words = self.stream.blocks(offsets).reshape(-1).tolist()
            self.block += _CHUNK
            self.used = 0
        self.used += 1
        return int(self.words[self.used - 1])


class SeedGenerator:
    """The seeds of the shuffle iterators made from one dataset (or from every dataset
    sharing an AnonymousSeedGenerator)."""

    def __init__(self, seed: int, seed2: int, *, reshuffle: bool) -> None:
        if seed == 0 and seed2 == 0:
            seed, seed2 = secrets.randbits(64), secrets.randbits(64)
        self.seed, self.seed2, self.reshuffle = seed, seed2, reshuffle
        self._words = PhiloxWords(seed, seed2) if reshuffle else None

    def next_seeds(self) -> tuple[int, int]:
        """The seeds of the next iterator."""
        if self._words is None:
            return self.seed, self.seed2
        return self._words(), self._words()


class _NoGenerator:
    """What DummySeedGenerator's handle holds: "make your own generator"."""


class _Deleter:
    """What the ``deleter`` variants of anonymous resources hold."""


class ShuffleDataset(Dataset):
    """The input's elements in an order drawn through a ``buffer_size`` buffer
    (``UNKNOWN``: a buffer as large as the input)."""

    def __init__(self, input: Dataset, buffer_size: int, generator: SeedGenerator) -> None:
        super().__init__(input.types, input.shapes)
        self.input, self.buffer_size, self.generator = input, buffer_size, generator

    def iterate(self) -> Iterator:
        return _Shuffled(self, *self.generator.next_seeds())

    def cardinality(self) -> int:
        return self.input.cardinality()


class _Shuffled(Iterator):
    def __init__(self, dataset: ShuffleDataset, seed: int, seed2: int) -> None:
        self.dataset = dataset
        self.random = PhiloxWords(seed, seed2)
        self.size = max(dataset.buffer_size, 0)  # 0: as large as the input
        self.buffer: list[Element | None] = [None] * self.size
        self.start = self.end = 0
        # TF makes the input iterator on the first pull, not with the shuffle's.
        self.input: Iterator | None = None
        self.exhausted = False

    def _fill(self) -> None:
        while not self.exhausted and (self.size == 0 or self.end - self.start < self.size):
            if self.input is None:
                self.input = self.dataset.input.iterate()
            element = self.input.next()
            if element is None:
                self.input, self.exhausted = None, True
            elif self.size == 0:
                self.buffer.append(element)
                self.end += 1
            else:
                self.buffer[self.end % self.size] = element
                self.end += 1

    def _next(self) -> Element | None:
        self._fill()
        if self.end == self.start:
            return None
        ring = self.size or len(self.buffer)
        index = (self.start + self.random() % (self.end - self.start)) % ring
        element = self.buffer[index]
        self.buffer[index] = self.buffer[self.start % ring]
        self.buffer[self.start % ring] = None
        self.start += 1
        assert element is not None
        return element


# --- ops ------------------------------------------------------------------------------


def _check_buffer_size(size: int | None) -> None:
    if size is not None and size <= 0 and size != UNKNOWN:
        raise InvalidArgumentError("buffer_size must be greater than zero or UNKNOWN_CARDINALITY")


def _shuffle_v3_rule(
    input_dataset: TensorSpec, buffer_size: TensorSpec, seed: TensorSpec, seed2: TensorSpec,
    seed_generator: TensorSpec, **attrs: Any,
) -> Shape:  # fmt: skip
    _check_buffer_size(int_value(buffer_size, "buffer_size"))
    return ()


def _generator(op_name: str, handle: np.ndarray) -> SeedGenerator | None:
    """The generator a seed_generator input holds; None for DummySeedGenerator's."""
    return object_or_dummy(
        op_name, handle, SeedGenerator, _NoGenerator,
        "a seed generator (the output of AnonymousSeedGenerator or DummySeedGenerator)",
    )  # fmt: skip


@op("ShuffleDatasetV3", shape=_shuffle_v3_rule)
def shuffle_dataset_v3(
    input_dataset: np.ndarray, buffer_size: np.ndarray, seed: np.ndarray, seed2: np.ndarray,
    seed_generator: np.ndarray, *, reshuffle_each_iteration: bool,
) -> np.ndarray:  # fmt: skip
    """The input shuffled through a buffer; seeds from ``seed_generator``, or from
    ``seed``/``seed2`` when it is a dummy."""
    size = scalar_arg("buffer_size", buffer_size)
    _check_buffer_size(size)
    seeds = scalar_arg("seed", seed), scalar_arg("seed2", seed2)
    source = dataset_of("ShuffleDatasetV3", input_dataset)
    generator = _generator("ShuffleDatasetV3", seed_generator) or SeedGenerator(
        *seeds, reshuffle=reshuffle_each_iteration
    )
    return variant(ShuffleDataset(source, size, generator))


def _shuffle_v2_rule(input_dataset: TensorSpec, buffer_size: TensorSpec,
                     seed_generator: TensorSpec, **attrs: Any) -> Shape:  # fmt: skip
    _check_buffer_size(int_value(buffer_size, "buffer_size"))
    return ()


@op("ShuffleDatasetV2", shape=_shuffle_v2_rule)
def shuffle_dataset_v2(
    input_dataset: np.ndarray, buffer_size: np.ndarray, seed_generator: np.ndarray
) -> np.ndarray:
    """The input shuffled through a buffer; seeds from ``seed_generator`` (a dummy one
    means random seeds, reshuffled each iteration, as in TF)."""
    size = scalar_arg("buffer_size", buffer_size)
    _check_buffer_size(size)
    source = dataset_of("ShuffleDatasetV2", input_dataset)
    generator = _generator("ShuffleDatasetV2", seed_generator) or SeedGenerator(
        0, 0, reshuffle=True
    )
    return variant(ShuffleDataset(source, size, generator))


def _generator_rule(seed: TensorSpec, seed2: TensorSpec, reshuffle: TensorSpec) -> list[Shape]:
    return [(), ()]


@op("AnonymousSeedGenerator", shape=_generator_rule)
def anonymous_seed_generator(
    seed: np.ndarray, seed2: np.ndarray, reshuffle: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A seed generator shuffles can share, and its deleter."""
    generator = SeedGenerator(
        scalar_arg("seed", seed), scalar_arg("seed2", seed2),
        reshuffle=bool(scalar_arg("reshuffle", reshuffle)),
    )  # fmt: skip
    return variant(generator), variant(_Deleter())


@op("DummySeedGenerator", shape=scalar)
def dummy_seed_generator() -> np.ndarray:
    """A handle telling a shuffle to make its own seed generator."""
    return variant(_NoGenerator())



@op("DeleteSeedGenerator", shape=no_outputs)
def delete_seed_generator(handle: np.ndarray, deleter: np.ndarray) -> None:
    """Nothing to free: a generator lives as long as a handle or a dataset holds it."""
    _generator("DeleteSeedGenerator", handle)
    object_of("DeleteSeedGenerator", deleter, _Deleter, "the deleter of AnonymousSeedGenerator")
