"""The random ops of ``tf.random.Generator``: RngReadAndSkip, RngSkip, the Stateful* draws,
StatefulRandomBinomial and NonDeterministicInts, bit for bit as TF 2.21 computes them on
CPU.

A generator's state is an int64 resource variable. For Philox it is ``[counter low,
counter high, key]``: the stream ``philox.Philox(key, (low, high))`` (words as uint64). A
draw of ``n`` values is the stateless V2 draw of that stream, and it moves the counter on
by ``256 * n`` blocks, wrapping modulo 2**64 before the add (TF's ``Skip``, carry quirk
included). ``RngReadAndSkip`` returns the state as it was and moves the counter as a draw
of ``delta`` values would: ``tf.random.Generator`` calls it, then a stateless V2 op.

The checks, in TF's order (the first two kinds by the shape rules too):

- the scalar inputs: ``algorithm``/``alg``, ``delta``, ``minval`` and ``maxval`` and
  ``minval < maxval`` (even for an empty output); then the output shape;
- the algorithm's id: Philox (1), ThreeFry (2) or auto-select (3, which is Philox);
  then the state: int64 and a vector (an uninitialised variable reads as an empty vector
  of its dtype, as TF's anonymous variables do); then ThreeFry is UNIMPLEMENTED on CPU,
  and a Philox state must have at least three words. (StatefulRandomBinomial checks
  the state first and takes Philox alone.)

Where eager_async differs from TF, which fails badly on these:

- ``RngReadAndSkip`` refuses a state of more than three words: TF copies the whole state
  into its three-word output, past the end of it, which corrupts its heap;
- ``StatefulRandomBinomial`` refuses an int64 ``shape`` (TF reads it as int32, a CHECK
  failure that aborts the process) and a NaN count with 0 < p < 1 (TF's sampler never
  returns); where p is NaN and the dtype an integer, TF's value is unspecified and this
  gives the type's minimum;
- TF's binomial kernel loses its counter update when the state's buffer is shared with
  another tensor (it writes through a pointer taken before it un-shares the buffer);
  variables here are never shared, so the counter always moves.

>>> state = np.empty((), object); state[()] = Variable(_STATE, (3,), "g", np.int64([1, 2, 3]))
>>> rng_read_and_skip(state, np.int32(1), np.uint64(5))
array([1, 2, 3])
>>> state.item().value
array([1281,    2,    3])
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import InvalidArgumentError, UnimplementedError
from . import philox
from ._checks import INDEX, broadcast, shape_str, tf_name
from .philox import Philox
from .random_binomial import binomial
from .registry import op
from .resource_scatter import current, variable_of
from .specs import Shape, TensorSpec
from .stateless_random import _make_shape
from .variables import Variable

__all__ = [
    "non_deterministic_ints",
    "rng_read_and_skip",
    "rng_skip",
    "stateful_random_binomial",
    "stateful_standard_normal_v2",
    "stateful_truncated_normal",
    "stateful_uniform",
    "stateful_uniform_full_int",
    "stateful_uniform_int",
]

_STATE = np.dtype(np.int64)
_PHILOX_STATE_SIZE = 3  # counter (two words), then key
_BLOCKS_PER_OUTPUT = 256  # how far a draw moves the counter per value (any distribution)
_U32 = 0xFFFFFFFF
_U64 = 2**64
Draw = Callable[[Philox, int], np.ndarray]
Array = np.ndarray | TensorSpec


# --- checks ---


def _scalar(index: int, x: Array) -> None:
    if x.shape is not None and x.shape != ():
        raise InvalidArgumentError(
            f"input {index} (0-based) must have shape [], not {shape_str(x.shape)}"
        )


def _bounds(minval: Array, maxval: Array) -> None:
    for name, x in (("minval", minval), ("maxval", maxval)):
        if x.shape is not None and x.shape != ():
            raise InvalidArgumentError(f"{name} must be 0-D, got shape {shape_str(x.shape)}")
    low, high = _value(minval), _value(maxval)
    if low is not None and high is not None and low >= high:
        raise InvalidArgumentError(f"Need minval < maxval, got {low} >= {high}")


def _value(x: Array) -> int | None:
    value = x.value if isinstance(x, TensorSpec) else x
    return None if value is None else int(value)


def _spec(x: Array) -> TensorSpec:
    return x if isinstance(x, TensorSpec) else TensorSpec(x.dtype, x.shape, x)


def _output_shape(shape: TensorSpec) -> Shape:
    """The output shape, checked as TF's MakeShape: a vector first, then of int32 or
    int64 (the op definitions allow any ``shape_dtype``)."""
    if shape.dtype in INDEX:
        return _make_shape(shape)
    _make_shape(TensorSpec(shape.dtype, shape.shape))
    raise InvalidArgumentError("shape must be a vector of {int32,int64}.")


def _rng_state(op_name: str, resource: np.ndarray) -> tuple[Variable, np.ndarray]:
    """The state variable and its value, which must be an int64 vector."""
    variable = variable_of(op_name, resource)
    return variable, _checked_state(current(variable))


def _checked_state(state: np.ndarray) -> np.ndarray:
    if state.dtype != _STATE:
        raise InvalidArgumentError(
            f"dtype of RNG state variable must be int64, not {tf_name(state.dtype)}"
        )
    if state.ndim != 1:
        raise InvalidArgumentError(
            f"RNG state must have one and only one dimension, not {state.ndim}"
        )
    return state


def _philox_state(op_name: str, resource: np.ndarray, alg: int) -> tuple[Variable, np.ndarray]:
    """The state variable and its value, checked for ``alg`` (module doc)."""
    variable = variable_of(op_name, resource)
    if alg not in (philox.PHILOX, philox.THREEFRY, philox.AUTO_SELECT):
        raise InvalidArgumentError(f"Unsupported algorithm id: {alg}")
    state = _checked_state(current(variable))
    if alg == philox.THREEFRY:
        raise UnimplementedError("Non-XLA devices don't support the ThreeFry algorithm.")
    if state.size < _PHILOX_STATE_SIZE:
        raise InvalidArgumentError(
            f"For the Philox algorithm, the size of state must be at least "
            f"{_PHILOX_STATE_SIZE}; got {state.size}"
        )
    return variable, state


# --- the counter ---


def _skipped(low: int, high: int, count: int) -> tuple[int, int]:
    """The 128-bit counter (two uint64 words) moved on by ``count`` blocks as TF's
    ``PhiloxRandom::Skip`` adds, in 32-bit words: when the carry out of the lowest word
    wraps the count's high word to zero, TF drops it (so does this)."""
    words = [low & _U32, low >> 32, high & _U32, high >> 32]
    count_low, count_high = count & _U32, count >> 32
    words[0] = (words[0] + count_low) & _U32
    if words[0] < count_low:
        count_high = (count_high + 1) & _U32
    words[1] = (words[1] + count_high) & _U32
    if words[1] < count_high:
        words[2] = (words[2] + 1) & _U32
        if words[2] == 0:
            words[3] = (words[3] + 1) & _U32
    return words[0] | words[1] << 32, words[2] | words[3] << 32


def _advance(variable: Variable, state: np.ndarray, outputs: int) -> None:
    """Move the counter on as a draw of ``outputs`` values does (the count wraps modulo
    2**64 first, as TF's uint64 product does). The variable gets a new array."""
    low, high = _skipped(int(state[0]) % _U64, int(state[1]) % _U64,
                         outputs * _BLOCKS_PER_OUTPUT % _U64)  # fmt: skip
    moved = state.copy()
    moved[:2] = np.array([low, high], np.uint64).view(np.int64)
    variable.value = moved


def _stream(state: np.ndarray) -> Philox:
    return Philox(int(state[2]) % _U64, (int(state[0]) % _U64, int(state[1]) % _U64))


# --- RngReadAndSkip, RngSkip ---


def _read_and_skip_shape(resource: TensorSpec, alg: TensorSpec, delta: TensorSpec) -> Shape:
    _scalar(1, alg)
    _scalar(2, delta)
    return (_PHILOX_STATE_SIZE,)


@op("RngReadAndSkip", shape=_read_and_skip_shape)
def rng_read_and_skip(resource: np.ndarray, alg: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """The state [3] as it is; then the counter moves on as a draw of ``delta`` values
    (uint64) would move it."""
    _read_and_skip_shape(_spec(resource), _spec(alg), _spec(delta))
    variable, state = _philox_state("RngReadAndSkip", resource, int(alg))
    if state.size > _PHILOX_STATE_SIZE:
        raise InvalidArgumentError(
            f"RngReadAndSkip: the RNG state has {state.size} words; a Philox state has "
            f"{_PHILOX_STATE_SIZE} (TensorFlow would write the extra words past the end of "
            "its output)"
        )
    _advance(variable, state, int(delta))
    return state.copy()


def _skip_shape(resource: TensorSpec, algorithm: TensorSpec, delta: TensorSpec) -> None:
    _scalar(1, algorithm)
    _scalar(2, delta)


@op("RngSkip", shape=_skip_shape)
def rng_skip(resource: np.ndarray, algorithm: np.ndarray, delta: np.ndarray) -> None:
    """Move the counter on as a draw of ``delta`` values (int64, taken modulo 2**64)
    would move it."""
    _skip_shape(_spec(resource), _spec(algorithm), _spec(delta))
    variable, state = _philox_state("RngSkip", resource, int(algorithm))
    _advance(variable, state, int(delta))


# --- the draws ---


def _draw_shape(resource: TensorSpec, algorithm: TensorSpec, shape: TensorSpec) -> Shape:
    _scalar(1, algorithm)
    return _output_shape(shape)


def _draw_int_shape(
    resource: TensorSpec, algorithm: TensorSpec, shape: TensorSpec, minval: TensorSpec,
    maxval: TensorSpec,
) -> Shape:  # fmt: skip
    _scalar(1, algorithm)
    _bounds(minval, maxval)
    return _output_shape(shape)


def _draw(
    op_name: str, resource: np.ndarray, algorithm: np.ndarray, dims: Shape, dtype: np.dtype,
    draw: Draw,
) -> np.ndarray:  # fmt: skip
    assert dims is not None  # every value is known in a kernel
    variable, state = _philox_state(op_name, resource, int(algorithm))
    size = math.prod(dims)
    _advance(variable, state, size)
    if size == 0:
        return np.zeros(dims, dtype)
    return draw(_stream(state), size).reshape(dims)


Distribution = Callable[[Philox, int, np.dtype], np.ndarray]


def _float_draw(name: str, distribution: Distribution, what: str) -> Callable[..., np.ndarray]:
    """Register op ``name``, which draws ``what`` from the generator's stream: the float
    draws differ only in their distribution."""

    def kernel(
        resource: np.ndarray, algorithm: np.ndarray, shape: np.ndarray, *, dtype: np.dtype
    ) -> np.ndarray:
        dims = _draw_shape(_spec(resource), _spec(algorithm), _spec(shape))
        draw: Draw = lambda s, n: distribution(s, n, dtype)  # noqa: E731
        return _draw(name, resource, algorithm, dims, dtype, draw)

    kernel.__doc__ = f"{what} from the generator's stream."
    return op(name, shape=_draw_shape)(kernel)


stateful_uniform = _float_draw("StatefulUniform", philox.uniform, "Uniform values in [0, 1)")
stateful_standard_normal_v2 = _float_draw(
    "StatefulStandardNormalV2", philox.normal, "Standard normal values"
)
stateful_truncated_normal = _float_draw(
    "StatefulTruncatedNormal", philox.truncated_normal,
    "Standard normal values within two standard deviations",
)  # fmt: skip


@op("StatefulUniformInt", shape=_draw_int_shape)
def stateful_uniform_int(
    resource: np.ndarray, algorithm: np.ndarray, shape: np.ndarray, minval: np.ndarray,
    maxval: np.ndarray, *, dtype: np.dtype,
) -> np.ndarray:  # fmt: skip
    """Integers in [minval, maxval) from the generator's stream."""
    dims = _draw_int_shape(_spec(resource), _spec(algorithm), _spec(shape), _spec(minval),
                           _spec(maxval))  # fmt: skip
    low, high = int(minval), int(maxval)
    draw: Draw = lambda s, n: philox.uniform_int(s, n, low, high, dtype)  # noqa: E731
    return _draw("StatefulUniformInt", resource, algorithm, dims, dtype, draw)


@op("StatefulUniformFullInt", shape=_draw_shape)
def stateful_uniform_full_int(
    resource: np.ndarray, algorithm: np.ndarray, shape: np.ndarray, *, dtype: np.dtype
) -> np.ndarray:
    """Integers over the whole range of ``dtype`` from the generator's stream."""
    dims = _draw_shape(_spec(resource), _spec(algorithm), _spec(shape))
    draw: Draw = lambda s, n: philox.uniform_full_int(s, n, dtype)  # noqa: E731
    return _draw("StatefulUniformFullInt", resource, algorithm, dims, dtype, draw)


# --- StatefulRandomBinomial ---


def _binomial_shape(
    resource: TensorSpec, algorithm: TensorSpec, shape: TensorSpec, counts: TensorSpec,
    probs: TensorSpec,
) -> Shape:  # fmt: skip
    try:
        batch = broadcast(counts.shape, probs.shape)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            "counts and probs must have compatible batch dimensions: "
            f"{shape_str(counts.shape)} vs. {shape_str(probs.shape)}"
        ) from None
    if shape.shape is not None and len(shape.shape) != 1:
        raise InvalidArgumentError(
            f"Input shape should be a vector, got shape: {shape_str(shape.shape)}"
        )
    dims = _make_shape(shape)
    if dims is not None and batch is not None and not _ends_with(dims, batch):
        raise InvalidArgumentError("Shape passed in must end with broadcasted shape.")
    if algorithm.shape is not None and algorithm.shape != ():
        raise InvalidArgumentError(
            f"algorithm must be of shape [], not {shape_str(algorithm.shape)}"
        )
    if shape.dtype == _STATE and shape.shape != (0,):
        # TF reads the dims as int32 here, which its tensor check turns into an abort.
        raise InvalidArgumentError(
            "StatefulRandomBinomial: pass the shape as int32 (TensorFlow aborts the process "
            "on an int64 shape)"
        )
    return dims


def _ends_with(dims: tuple[int, ...], batch: tuple[int, ...]) -> bool:
    if len(batch) > len(dims):
        return False
    tail = dims[len(dims) - len(batch) :]
    return all(d < 0 or b < 0 or d == b for d, b in zip(tail, batch, strict=True))


def _as_output(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Doubles as TF's C++ casts them on x86: half by way of float; integers truncated,
    NaN and values out of range as the type's minimum (for a NaN probability TF's
    integer is unspecified: it converts a NaN constant, which its compiler folds)."""
    if dtype.kind == "f":
        wide = values if dtype.itemsize >= 4 else values.astype(np.float32)
        return wide.astype(dtype)
    low = np.iinfo(dtype).min
    inside = (values >= low) & (values < -float(low))
    return np.where(inside, values, low).astype(dtype)


@op("StatefulRandomBinomial", shape=_binomial_shape)
def stateful_random_binomial(
    resource: np.ndarray, algorithm: np.ndarray, shape: np.ndarray, counts: np.ndarray,
    probs: np.ndarray, *, dtype: np.dtype,
) -> np.ndarray:  # fmt: skip
    """Binomial samples (``random_binomial``): ``shape`` is the sample dims followed by
    the broadcast shape of ``counts`` and ``probs``. Only Philox (1) is taken, not
    auto-select; the counter moves on by ``256 * (batches * 200 * (samples + 3) // 4)``."""
    specs = (_spec(x) for x in (resource, algorithm, shape, counts, probs))
    dims = _binomial_shape(*specs)
    assert dims is not None
    variable, state = _rng_state("StatefulRandomBinomial", resource)
    if int(algorithm) != philox.PHILOX:
        raise InvalidArgumentError(f"Unsupported algorithm id: {int(algorithm)}")
    if state.size < _PHILOX_STATE_SIZE:
        raise InvalidArgumentError(
            f"For Philox algorithm, the size of state must be at least {_PHILOX_STATE_SIZE}; "
            f"got {state.size}"
        )
    batch = np.broadcast_shapes(counts.shape, probs.shape)
    batches = math.prod(batch)
    samples = math.prod(dims[: len(dims) - len(batch)])
    draws = binomial(_stream(state), np.broadcast_to(counts, batch).ravel(),
                     np.broadcast_to(probs, batch).ravel(), samples)  # fmt: skip
    _advance(variable, state, batches * 2 * 100 * (samples + 3) // 4)
    with np.errstate(all="ignore"):  # a half overflows to inf, as in TF
        return _as_output(draws, dtype).reshape(dims)


# --- NonDeterministicInts ---


def _non_deterministic_shape(shape: TensorSpec) -> Shape:
    return _output_shape(shape)


@op("NonDeterministicInts", shape=_non_deterministic_shape)
def non_deterministic_ints(shape: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
    """64 random bits per value, cut to ``dtype``, from a NumPy generator the operating
    system seeds (what ``tf.random.Generator.from_non_deterministic_state`` seeds a
    generator with)."""
    dims = _output_shape(_spec(shape))
    assert dims is not None
    bits = np.random.default_rng().integers(0, _U64, math.prod(dims), np.uint64, endpoint=False)
    return bits.astype(dtype).reshape(dims)
