"""TensorFlow's stateless random ops, bit for bit as TF 2.21 computes them on CPU.

The V2 ops draw from the Philox stream a (key, counter) pair names; the V1 ops and
``StatelessRandomGetKeyCounter`` first scramble a ``seed`` pair into such a stream. The
algorithms are in ``philox``; this module holds the ops' checks, in TF's order and with
its messages, shared by each kernel and its shape rule:

- V2: ``alg`` is a scalar; key has shape [1] and counter is a vector at least as long as
  the algorithm id (TF's own check); the shape is a vector of non-negative dims; an empty
  output needs nothing more; then ``minval``/``maxval``; then the algorithm must be Philox.
- V1: the shape, then the seed's shape [2]; an empty output needs nothing more; then the
  seed's dtype (int32 or int64), then ``minval``/``maxval``.

One difference from TF: a Philox counter of one word is refused. TF accepts it and reads
the missing word from past the end of the tensor, so its values are not reproducible.

>>> key, counter = stateless_random_get_key_counter(np.array([1, 2]))
>>> stateless_random_uniform_v2(np.array([3]), key, counter, np.int32(1), dtype=np.dtype("float32"))
array([0.8440604 , 0.19204533, 0.9962232 ], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import InvalidArgumentError
from . import philox
from ._checks import INDEX, checked_dims, shape_str, tf_name
from .philox import Philox
from .registry import op
from .specs import Shape, TensorSpec

__all__ = [
    "stateless_random_get_alg",
    "stateless_random_get_key_counter",
    "stateless_random_get_key_counter_alg",
    "stateless_random_normal",
    "stateless_random_normal_v2",
    "stateless_random_uniform",
    "stateless_random_uniform_full_int",
    "stateless_random_uniform_full_int_v2",
    "stateless_random_uniform_int",
    "stateless_random_uniform_int_v2",
    "stateless_random_uniform_v2",
    "stateless_truncated_normal",
    "stateless_truncated_normal_v2",
]

_KEY_SIZE, _COUNTER_SIZE = 1, 2  # uint64 words, TF's RNG_KEY_SIZE and RNG_MAX_COUNTER_SIZE
_I32 = np.dtype(np.int32)
_U64 = np.dtype(np.uint64)
Draw = Callable[[Philox, int], np.ndarray]
Bounds = tuple[TensorSpec, TensorSpec] | None


def _spec(a: np.ndarray) -> TensorSpec:
    return TensorSpec(a.dtype, a.shape, a)


def _int_value(spec: TensorSpec) -> int | None:
    return None if spec.value is None else int(spec.value)


def _make_shape(spec: TensorSpec) -> Shape:
    """The output shape an int32/int64 ``shape`` input gives, checked as TF's MakeShape."""
    if spec.shape is not None and len(spec.shape) != 1:
        raise InvalidArgumentError(
            f"shape must be a vector of {{int32,int64}}, got shape {shape_str(spec.shape)}"
        )
    if spec.value is None:
        return None if spec.shape is None or spec.shape[0] < 0 else (-1,) * spec.shape[0]
    return checked_dims(spec.value.tolist())


def _empty(dims: Shape) -> bool | None:
    """Whether the output has no elements (None: not known yet)."""
    if dims is None:
        return None
    if 0 in dims:
        return True
    return None if -1 in dims else False


def _check_bounds(bounds: Bounds) -> None:
    if bounds is None:
        return
    for name, spec in zip(("minval", "maxval"), bounds, strict=True):
        if spec.shape is not None and spec.shape != ():
            raise InvalidArgumentError(f"{name} must be 0-D, got shape {shape_str(spec.shape)}")
    low, high = _int_value(bounds[0]), _int_value(bounds[1])
    if low is not None and high is not None and low >= high:
        raise InvalidArgumentError(f"Need minval < maxval, got {low} >= {high}")


def _check_v2(
    shape: TensorSpec, key: TensorSpec, counter: TensorSpec, alg: TensorSpec,
    bounds: Bounds = None,
) -> Shape:  # fmt: skip
    """The V2 checks (module doc) as far as the specs' known values allow."""
    if alg.shape is not None and alg.shape != ():
        raise InvalidArgumentError(
            f"input 3 (0-based) must have shape [], not {shape_str(alg.shape)}"
        )
    alg_id = _int_value(alg)
    if alg_id == philox.AUTO_SELECT:
        alg_id = philox.CPU_ALGORITHM
    if key.shape is not None and key.shape not in ((_KEY_SIZE,), (-1,)):
        raise InvalidArgumentError(
            f"key must have shape [{_KEY_SIZE}], not {shape_str(key.shape)}. "
            "(Note that batched keys are not supported yet.)"
        )
    # TF checks the counter's length against the algorithm *id*, not the algorithm's
    # counter size: Philox (1) passes a counter of one word, an id of 5 needs five.
    at_least = 1 if alg_id is None else alg_id
    if counter.shape is not None and (
        len(counter.shape) != 1 or 0 <= counter.shape[0] < at_least
    ):
        raise InvalidArgumentError(
            f"counter must be a vector with length at least {at_least}; got shape: "
            f"{shape_str(counter.shape)}. (Note that batched counters are not supported yet.)"
        )
    dims = _make_shape(shape)
    if _empty(dims) is not False:
        return dims
    _check_bounds(bounds)
    if alg_id is not None and alg_id != philox.PHILOX:
        raise InvalidArgumentError(f"Unsupported algorithm id: {alg_id}")
    if counter.shape is not None and 0 <= counter.shape[0] < _COUNTER_SIZE:
        raise InvalidArgumentError(
            f"counter must have {_COUNTER_SIZE} elements for the Philox algorithm, got shape "
            f"{shape_str(counter.shape)} (TensorFlow would read the missing word from past "
            "the end of the tensor); pass the counter StatelessRandomGetKeyCounter returns"
        )
    return dims


def _check_v1(shape: TensorSpec, seed: TensorSpec, bounds: Bounds = None) -> Shape:
    """The V1 checks (module doc) as far as the specs' known values allow."""
    dims = _make_shape(shape)
    _check_seed_shape(seed)
    if _empty(dims) is not False:
        return dims
    if seed.dtype not in INDEX:
        raise InvalidArgumentError(f"Invalid seed type: {tf_name(seed.dtype)}")
    _check_bounds(bounds)
    return dims


def _check_seed_shape(seed: TensorSpec) -> None:
    if seed.shape is not None and seed.shape not in ((2,), (-1,)):
        raise InvalidArgumentError(f"seed must have shape [2], not {shape_str(seed.shape)}")


def _sample(dims: Shape, dtype: np.dtype, stream: Callable[[], Philox], draw: Draw) -> np.ndarray:
    assert dims is not None and -1 not in dims  # every value is known in a kernel
    size = math.prod(dims)
    if size == 0:
        return np.zeros(dims, dtype)
    return draw(stream(), size).reshape(dims)


def _v2(
    shape: np.ndarray, key: np.ndarray, counter: np.ndarray, alg: np.ndarray,
    dtype: np.dtype, draw: Draw, bounds: Bounds = None,
) -> np.ndarray:  # fmt: skip
    dims = _check_v2(_spec(shape), _spec(key), _spec(counter), _spec(alg), bounds)
    return _sample(dims, dtype, lambda: Philox.from_tensors(key, counter), draw)


def _v1(
    shape: np.ndarray, seed: np.ndarray, dtype: np.dtype, draw: Draw, bounds: Bounds = None
) -> np.ndarray:
    dims = _check_v1(_spec(shape), _spec(seed), bounds)
    return _sample(dims, dtype, lambda: Philox.from_seed(int(seed[0]), int(seed[1])), draw)


def _bounds(minval: np.ndarray, maxval: np.ndarray) -> Bounds:
    return _spec(minval), _spec(maxval)


def _int_draw(minval: np.ndarray, maxval: np.ndarray, dtype: np.dtype) -> Draw:
    return lambda s, n: philox.uniform_int(s, n, int(minval), int(maxval), dtype)


# --- shape rules ---


def _v2_shape(shape: TensorSpec, key: TensorSpec, counter: TensorSpec, alg: TensorSpec) -> Shape:
    return _check_v2(shape, key, counter, alg)


def _v2_int_shape(
    shape: TensorSpec, key: TensorSpec, counter: TensorSpec, alg: TensorSpec,
    minval: TensorSpec, maxval: TensorSpec,
) -> Shape:  # fmt: skip
    return _check_v2(shape, key, counter, alg, (minval, maxval))


def _v1_shape(shape: TensorSpec, seed: TensorSpec) -> Shape:
    return _check_v1(shape, seed)


def _v1_int_shape(
    shape: TensorSpec, seed: TensorSpec, minval: TensorSpec, maxval: TensorSpec
) -> Shape:
    return _check_v1(shape, seed, (minval, maxval))


def _key_counter_shape(seed: TensorSpec) -> list[Shape]:
    _check_seed_shape(seed)
    return [(_KEY_SIZE,), (_COUNTER_SIZE,)]


def _key_counter_alg_shape(seed: TensorSpec) -> list[Shape]:
    return [*_key_counter_shape(seed), ()]


def _alg_shape() -> Shape:
    return ()


# --- seeds to streams ---


def _key_counter(seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _check_seed_shape(_spec(seed))
    stream = Philox.from_seed(int(seed[0]), int(seed[1]))
    return np.array([stream.key], _U64), np.array(stream.counter, _U64)


@op("StatelessRandomGetKeyCounter", shape=_key_counter_shape)
def stateless_random_get_key_counter(seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Philox key [1] and counter [2] (uint64) TF derives from ``seed`` [2].

    >>> [a.tolist() for a in stateless_random_get_key_counter(np.array([0, 0]))]
    [[16103252647613272195], [0, 18388005586443337812]]
    """
    return _key_counter(seed)


@op("StatelessRandomGetAlg", shape=_alg_shape)
def stateless_random_get_alg() -> np.ndarray:
    """The algorithm the CPU kernels use: Philox (1).

    >>> stateless_random_get_alg()
    array(1, dtype=int32)
    """
    return np.array(philox.CPU_ALGORITHM, _I32)


@op("StatelessRandomGetKeyCounterAlg", shape=_key_counter_alg_shape)
def stateless_random_get_key_counter_alg(
    seed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``StatelessRandomGetKeyCounter`` and ``StatelessRandomGetAlg`` in one op.

    >>> stateless_random_get_key_counter_alg(np.array([0, 0]))[2]
    array(1, dtype=int32)
    """
    return (*_key_counter(seed), stateless_random_get_alg())


# --- V2: (shape, key, counter, alg) ---


@op("StatelessRandomUniformV2", shape=_v2_shape)
def stateless_random_uniform_v2(
    shape: np.ndarray, key: np.ndarray, counter: np.ndarray, alg: np.ndarray, *, dtype: np.dtype
) -> np.ndarray:
    """Uniform values in [0, 1) from the stream (key, counter)."""
    return _v2(shape, key, counter, alg, dtype, lambda s, n: philox.uniform(s, n, dtype))


@op("StatelessRandomNormalV2", shape=_v2_shape)
def stateless_random_normal_v2(
    shape: np.ndarray, key: np.ndarray, counter: np.ndarray, alg: np.ndarray, *, dtype: np.dtype
) -> np.ndarray:
    """Standard normal values from the stream (key, counter)."""
    return _v2(shape, key, counter, alg, dtype, lambda s, n: philox.normal(s, n, dtype))


@op("StatelessTruncatedNormalV2", shape=_v2_shape)
def stateless_truncated_normal_v2(
    shape: np.ndarray, key: np.ndarray, counter: np.ndarray, alg: np.ndarray, *, dtype: np.dtype
) -> np.ndarray:
    """Standard normal values within two standard deviations from the stream (key, counter)."""
    draw: Draw = lambda s, n: philox.truncated_normal(s, n, dtype)  # noqa: E731
    return _v2(shape, key, counter, alg, dtype, draw)


@op("StatelessRandomUniformIntV2", shape=_v2_int_shape)
def stateless_random_uniform_int_v2(
    shape: np.ndarray, key: np.ndarray, counter: np.ndarray, alg: np.ndarray,
    minval: np.ndarray, maxval: np.ndarray, *, dtype: np.dtype,
) -> np.ndarray:  # fmt: skip
    """Integers in [minval, maxval) from the stream (key, counter)."""
    draw = _int_draw(minval, maxval, dtype)
    return _v2(shape, key, counter, alg, dtype, draw, _bounds(minval, maxval))


@op("StatelessRandomUniformFullIntV2", shape=_v2_shape)
def stateless_random_uniform_full_int_v2(
    shape: np.ndarray, key: np.ndarray, counter: np.ndarray, alg: np.ndarray, *, dtype: np.dtype
) -> np.ndarray:
    """Integers over the whole range of ``dtype`` from the stream (key, counter)."""
    draw: Draw = lambda s, n: philox.uniform_full_int(s, n, dtype)  # noqa: E731
    return _v2(shape, key, counter, alg, dtype, draw)


# --- V1: (shape, seed) ---


@op("StatelessRandomUniform", shape=_v1_shape)
def stateless_random_uniform(shape: np.ndarray, seed: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
    """Uniform values in [0, 1) from the stream of ``seed``."""
    return _v1(shape, seed, dtype, lambda s, n: philox.uniform(s, n, dtype))


@op("StatelessRandomNormal", shape=_v1_shape)
def stateless_random_normal(shape: np.ndarray, seed: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
    """Standard normal values from the stream of ``seed``."""
    return _v1(shape, seed, dtype, lambda s, n: philox.normal(s, n, dtype))


@op("StatelessTruncatedNormal", shape=_v1_shape)
def stateless_truncated_normal(
    shape: np.ndarray, seed: np.ndarray, *, dtype: np.dtype
) -> np.ndarray:
    """Standard normal values within two standard deviations from the stream of ``seed``."""
    return _v1(shape, seed, dtype, lambda s, n: philox.truncated_normal(s, n, dtype))


@op("StatelessRandomUniformInt", shape=_v1_int_shape)
def stateless_random_uniform_int(
    shape: np.ndarray, seed: np.ndarray, minval: np.ndarray, maxval: np.ndarray,
    *, dtype: np.dtype,
) -> np.ndarray:  # fmt: skip
    """Integers in [minval, maxval) from the stream of ``seed``."""
    return _v1(shape, seed, dtype, _int_draw(minval, maxval, dtype), _bounds(minval, maxval))


@op("StatelessRandomUniformFullInt", shape=_v1_shape)
def stateless_random_uniform_full_int(
    shape: np.ndarray, seed: np.ndarray, *, dtype: np.dtype
) -> np.ndarray:
    """Integers over the whole range of ``dtype`` from the stream of ``seed``."""
    return _v1(shape, seed, dtype, lambda s, n: philox.uniform_full_int(s, n, dtype))
