"""Stateful random ops: RandomUniform, RandomStandardNormal, TruncatedNormal,
RandomUniformInt and RandomShuffle, bit for bit as TF 2.21 computes them on CPU.

Each TF kernel instance owns a Philox stream (its ``GuardedPhiloxRandom``):

- the ``seed`` and ``seed2`` attrs start it, unscrambled: key ``seed``, counter
  ``(0, seed2)``; with both 0 the instance draws two random 64-bit seeds once, when made;
- every call reserves the next stretch of the stream and moves the instance past it, so
  calling the same instance again gives new values: 256 blocks per output for the
  distributions (whatever each reads of them), ``ceil((rows - 1) / 4)`` blocks to
  shuffle ``rows`` rows; nothing when the output is empty or there is nothing to shuffle.
  Inside its stretch a call draws as the stateless ops do (``philox``).

What is one instance is TF's runtime's choice, and ``_stream`` keys the state by it in
the context's ``env.state``:

- an op the client enqueues: one per op and attrs in a context, since TF's eager kernel
  cache hands the same kernel to every call with the same attrs (``seed``, ``seed2``,
  the dtypes), whatever the shape input;
- a node of a function body: one per node, found by ``env.scope`` (the path of function
  and node names from the outermost call), and kept across calls of the function, as
  TF keeps an instantiated function's kernels;
- a node of a dataset's function (``map``, ``filter``, ...): TF instantiates those per
  iterator, so every iterator starts their streams afresh (each epoch of Keras's ``fit``
  shuffles alike). That is the data ops' part: they run an iterator's functions with an
  ``env`` whose ``state`` is the iterator's own.

An op's ``env`` needs only ``scope`` and ``state`` here; an enqueued op's scope is empty:

>>> from types import SimpleNamespace
>>> env = SimpleNamespace(scope=(), state={})
>>> draw = lambda: random_uniform(np.int32([2]), dtype=np.dtype("float32"), seed=5, seed2=7,
...                               T=np.dtype("int32"), env=env)
>>> draw()
array([0.44746375, 0.620757  ], dtype=float32)
>>> draw()  # the same instance, further on in its stream
array([0.41754687, 0.7107128 ], dtype=float32)
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidArgumentError
from . import philox
from ._checks import known_shape, shape_str
from .philox import Philox
from .registry import op, same_shape
from .specs import Shape, TensorSpec
from .stateless_random import _make_shape

if TYPE_CHECKING:
    from ..op_env import OpEnv

__all__ = [
    "random_shuffle",
    "random_standard_normal",
    "random_uniform",
    "random_uniform_int",
    "truncated_normal",
]

_BLOCKS_PER_OUTPUT = 256  # TF's multiplier: the most any distribution reads per output
_U32 = np.dtype(np.uint32)
Draw = Callable[[Philox, int], np.ndarray]


class _Stream:
    """One kernel instance's place in its Philox stream (TF's ``GuardedPhiloxRandom``);
    calls of the instance may run on several threads at once, so reserving is atomic."""

    __slots__ = ("_lock", "_next")

    def __init__(self, seed: int, seed2: int) -> None:
        if seed == 0 and seed2 == 0:
            seed, seed2 = secrets.randbits(64), secrets.randbits(64)
        self._next = Philox.from_seed_attrs(seed, seed2)
        self._lock = threading.Lock()

    def reserve(self, blocks: int) -> Philox:
        """The stream at the next ``blocks`` blocks, which no later call will see."""
        with self._lock:
            here = self._next
            self._next = here.skip(blocks)
        return here


def _stream(env: OpEnv, op_name: str, seed: int, seed2: int, *attrs: Hashable) -> _Stream:
    """The stream of the kernel instance the call runs on (module doc)."""
    key = (__name__, env.scope, op_name, seed, seed2, *attrs)
    found = env.state.get(key)
    if found is None:
        found = env.state.setdefault(key, _Stream(seed, seed2))
    assert isinstance(found, _Stream)
    return found


def _sample(stream: _Stream, dims: Shape, dtype: np.dtype, draw: Draw) -> np.ndarray:
    """``draw`` of the outputs' count from the instance's next stretch of its stream."""
    dims = known_shape(dims)
    size = math.prod(dims)
    if size == 0:  # TF returns before it reserves anything
        return np.zeros(dims, dtype)
    return draw(stream.reserve(size * _BLOCKS_PER_OUTPUT), size).reshape(dims)


def _spec(a: np.ndarray) -> TensorSpec:
    return TensorSpec(a.dtype, a.shape, a)


# --- RandomUniform, RandomStandardNormal, TruncatedNormal: (shape) ---


def _shape(shape: TensorSpec) -> Shape:
    return _make_shape(shape)


@op("RandomUniform", shape=_shape)
def random_uniform(
    shape: np.ndarray, *, dtype: np.dtype, seed: int, seed2: int, T: np.dtype, env: OpEnv
) -> np.ndarray:
    """Uniform values in [0, 1)."""
    stream = _stream(env, "RandomUniform", seed, seed2, dtype, T)
    return _sample(stream, _shape(_spec(shape)), dtype, lambda s, n: philox.uniform(s, n, dtype))


@op("RandomStandardNormal", shape=_shape)
def random_standard_normal(
    shape: np.ndarray, *, dtype: np.dtype, seed: int, seed2: int, T: np.dtype, env: OpEnv
) -> np.ndarray:
    """Normal values with mean 0 and standard deviation 1."""
    stream = _stream(env, "RandomStandardNormal", seed, seed2, dtype, T)
    return _sample(stream, _shape(_spec(shape)), dtype, lambda s, n: philox.normal(s, n, dtype))


@op("TruncatedNormal", shape=_shape)
def truncated_normal(
    shape: np.ndarray, *, dtype: np.dtype, seed: int, seed2: int, T: np.dtype, env: OpEnv
) -> np.ndarray:
    """Standard normal values within two standard deviations of 0."""
    stream = _stream(env, "TruncatedNormal", seed, seed2, dtype, T)
    draw: Draw = lambda s, n: philox.truncated_normal(s, n, dtype)  # noqa: E731
    return _sample(stream, _shape(_spec(shape)), dtype, draw)


# --- RandomUniformInt: (shape, minval, maxval) ---


def _uniform_int_shape(shape: TensorSpec, minval: TensorSpec, maxval: TensorSpec) -> Shape:
    """TF's order: the bounds are scalars, the shape is valid, and only a non-empty
    output needs minval < maxval."""
    for name, spec in (("minval", minval), ("maxval", maxval)):
        if spec.shape is not None and spec.shape != ():
            raise InvalidArgumentError(f"{name} must be 0-D, got shape {shape_str(spec.shape)}")
    dims = _make_shape(shape)
    if dims is None or 0 in dims or minval.value is None or maxval.value is None:
        return dims
    low, high = int(minval.value), int(maxval.value)
    if low >= high:
        raise InvalidArgumentError(f"Need minval < maxval, got {low} >= {high}")
    return dims


@op("RandomUniformInt", shape=_uniform_int_shape)
def random_uniform_int(
    shape: np.ndarray, minval: np.ndarray, maxval: np.ndarray, *, seed: int, seed2: int,
    Tout: np.dtype, T: np.dtype, env: OpEnv,
) -> np.ndarray:  # fmt: skip
    """Integers in [minval, maxval): ``minval + bits % (maxval - minval)``, so slightly
    biased toward small offsets when the range does not divide 2**32 (2**64 for int64)."""
    stream = _stream(env, "RandomUniformInt", seed, seed2, Tout, T)
    dims = _uniform_int_shape(_spec(shape), _spec(minval), _spec(maxval))
    draw: Draw = lambda s, n: philox.uniform_int(s, n, int(minval), int(maxval), Tout)  # noqa: E731
    return _sample(stream, dims, Tout, draw)


# --- RandomShuffle: (value) ---


def _permutation(stream: _Stream, rows: int) -> list[int]:
    """TF's Fisher-Yates: for i = 0 .. rows - 2, swap i with ``i + word_i % (rows - i)``,
    word i being the i-th uint32 of the reserved stretch (the span is a uint32 in TF)."""
    samples = rows - 1
    words = philox.uniform_full_int(stream.reserve(-(-samples // 4)), samples, _U32)
    spans = np.arange(rows, 1, -1, dtype=np.uint64) & np.uint64(0xFFFFFFFF)
    picks = (np.arange(samples, dtype=np.uint64) + words.astype(np.uint64) % spans).tolist()
    order = list(range(rows))
    for i, j in enumerate(picks):
        order[i], order[j] = order[j], order[i]
    return order


@op("RandomShuffle", shape=same_shape)
def random_shuffle(
    value: np.ndarray, *, seed: int, seed2: int, T: np.dtype, env: OpEnv
) -> np.ndarray:
    """``value`` with its first dimension shuffled (a scalar, or one row, as it is)."""
    if value.size <= 1 or value.shape[0] <= 1:  # TF reserves nothing for these
        return value
    order = _permutation(_stream(env, "RandomShuffle", seed, seed2, T), value.shape[0])
    return np.take(value, order, axis=0)
