"""TensorFlow's Philox-4x32-10 streams and the distributions its CPU kernels draw from
them, in vectorised NumPy, bit for bit.

A stream is a 64-bit key and a 128-bit counter. Block ``b`` of the stream is the Philox
function of (key, counter + b); its four uint32 words are the stream's words 4b..4b+3.
TF's CPU kernels split an output into *groups* of one distribution call each and give
group ``g`` its own place in the stream, so the values never depend on how the work is
sharded among threads, and a tensor is a prefix of any longer one with the same stream:

- fixed-cost distributions (uniform, normal, the integers) use block ``g`` for group
  ``g``: a group is 4 outputs for 32-bit (and 16-bit) types, 2 for 64-bit types;
- truncated normal, which rejects samples, starts group ``g`` at block ``g * 256 *
  group / 4`` and reads on word by word until the group is full.

Box-Muller's transcendental functions are the C library's, as in TF's Linux build; the
correctly rounded results, or NumPy's own SIMD log, differ from them in up to about 1%
of values:

- float: glibc's ``logf`` and ``sincosf`` (glibc >= 2.28, x86-64), reproduced here in
  double arithmetic. Each sees at most 2**23 distinct inputs (a 23-bit mantissa), and the
  tests check every one against glibc; with or without FMA contraction (glibc picks an
  FMA build on CPUs that have it) the results are the same on that domain.
- double: ``log``, ``sin`` and ``cos`` of the running C library, one call per value
  through ``math`` (the only per-element calls here; glibc's ``sincos`` gives what its
  ``sin`` and ``cos`` give).

>>> stream = Philox.from_seed(1, 2)
>>> hex(stream.key), stream.counter[0]
('0x908502c96d2f7fba', 0)
>>> uniform(stream, 3, np.dtype(np.float32))
array([0.8440604 , 0.19204533, 0.9962232 ], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import ml_dtypes
import numpy as np

from ..errors import InvalidArgumentError

__all__ = [
    "AUTO_SELECT",
    "CPU_ALGORITHM",
    "PHILOX",
    "THREEFRY",
    "Philox",
    "normal",
    "truncated_normal",
    "uniform",
    "uniform_full_int",
    "uniform_int",
]

PHILOX, THREEFRY, AUTO_SELECT = 1, 2, 3
"""TF's RNG algorithm ids (``Algorithm`` in rng_alg.h)."""
CPU_ALGORITHM = PHILOX
"""What ``StatelessRandomGetAlg`` answers on CPU: TF's CPU kernels implement Philox only."""

_U32 = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)
_MUL_A, _MUL_B = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_KEY_STEP_A, _KEY_STEP_B = 0x9E3779B9, 0xBB67AE85
_SEED_KEY = 0x02461E29_3EC8F720  # the fixed key that scrambles a seed pair
_ROUNDS = 10
_CHUNK = 1 << 16  # blocks per NumPy pass: keeps the temporaries in cache

_F16 = np.dtype(np.float16)
_BF16 = np.dtype(ml_dtypes.bfloat16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_I32, _I64 = np.dtype(np.int32), np.dtype(np.int64)
_U32T, _U64T = np.dtype(np.uint32), np.dtype(np.uint64)
_FLOATS = (_F16, _BF16, _F32, _F64)


@dataclass(frozen=True, slots=True)
class Philox:
    """A Philox-4x32-10 stream: ``key`` (a uint64) and ``counter`` (two uint64 words,
    low word first), laid out as TF keeps them in its key and counter tensors: uint32
    word ``i`` of the key or counter is bits ``32*i..`` of the little-endian pair.

    Block 0 of key 0 and counter 0 is Random123's known answer for Philox-4x32-10:

    >>> [hex(w) for w in Philox(0, (0, 0)).blocks(np.zeros(1, np.uint64))[0]]
    ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """

    key: int
    counter: tuple[int, int]

    @classmethod
    def from_seed(cls, seed0: int, seed1: int) -> Philox:
        """The stream TF derives from a seed pair (``GenerateKey``, used by
        ``StatelessRandomGetKeyCounter`` and the V1 stateless ops): one Philox block of
        the seeds under a fixed key gives the new key and the counter's high word.

        Seeds are int32 or int64 values; TF widens them to uint64 modulo 2**64.

        >>> Philox.from_seed(0, 0).counter
        (0, 18388005586443337812)
        """
        words = cls(_SEED_KEY, (seed0 % 2**64, seed1 % 2**64)).blocks(
            np.zeros(1, np.uint64)
        )[0].tolist()
        return cls(words[0] | words[1] << 32, (0, words[2] | words[3] << 32))

    @classmethod
    def from_seed_attrs(cls, seed: int, seed2: int) -> Philox:
        """The stream of a stateful op's ``seed`` and ``seed2`` attrs, as TF's
        ``PhiloxRandom(seed, seed2)`` builds it: no scrambling, ``seed`` is the key and
        ``seed2`` the counter's high word (both widened to uint64 modulo 2**64).

        >>> Philox.from_seed_attrs(-1, 2)
        Philox(key=18446744073709551615, counter=(0, 2))
        """
        return cls(seed % 2**64, (0, seed2 % 2**64))

    def skip(self, blocks: int) -> Philox:
        """The stream ``blocks`` blocks further on (TF's ``PhiloxRandom::Skip``): the
        counter is a 128-bit integer, so the low word carries into the high one.

        >>> Philox(7, (2**64 - 1, 0)).skip(2).counter
        (1, 1)
        """
        counter = (self.counter[0] + (self.counter[1] << 64) + blocks) % 2**128
        return Philox(self.key, (counter & (2**64 - 1), counter >> 64))

    @classmethod
    def from_tensors(cls, key: np.ndarray, counter: np.ndarray) -> Philox:
        """The stream of a StatelessRandom*V2 op's ``key`` [1] and ``counter`` [2] inputs
        (uint64); counter words after the second are not read."""
        return cls(int(key.reshape(-1)[0]), (int(counter[0]), int(counter[1])))

    def blocks(self, offsets: np.ndarray) -> np.ndarray:
        """Blocks ``offsets`` (uint64) of the stream: a uint32 array ``[len, 4]``.

        The counter is a 128-bit integer; ``counter + offset`` carries into the high word
        exactly as TF's ``Skip`` does.
        """
        low = offsets + np.uint64(self.counter[0])
        high = np.uint64(self.counter[1]) + (low < offsets).astype(np.uint64)
        c0, c1 = low & _U32, low >> _SHIFT
        c2, c3 = high & _U32, high >> _SHIFT
        k0, k1 = self.key & 0xFFFFFFFF, self.key >> 32
        for _ in range(_ROUNDS):
            p0, p1 = c0 * _MUL_A, c2 * _MUL_B  # 32x32 -> 64 bits, never overflows
            c0, c1, c2, c3 = (
                (p1 >> _SHIFT) ^ c1 ^ np.uint64(k0),
                p1 & _U32,
                (p0 >> _SHIFT) ^ c3 ^ np.uint64(k1),
                p0 & _U32,
            )
            k0 = (k0 + _KEY_STEP_A) & 0xFFFFFFFF
            k1 = (k1 + _KEY_STEP_B) & 0xFFFFFFFF
        return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


def _chunked(
    stream: Philox, size: int, per_block: int, draw: Callable[[np.ndarray], np.ndarray],
    dtype: np.dtype,
) -> np.ndarray:  # fmt: skip
    """``size`` outputs of a fixed-cost distribution that turns each block (a row of
    ``draw``'s uint32 ``[n, 4]`` input) into ``per_block`` outputs."""
    out = np.empty(size, dtype)
    n_blocks = -(-size // per_block)
    for first in range(0, n_blocks, _CHUNK):
        offsets = np.arange(first, min(first + _CHUNK, n_blocks), dtype=np.uint64)
        values = draw(stream.blocks(offsets)).reshape(-1)
        start = first * per_block
        stop = min(size, start + values.size)
        out[start:stop] = values[: stop - start]
    return out


# --- bits -> [0, 1): fill a mantissa with random bits under the exponent of 1, minus 1 ---


def _unit_f32(words: np.ndarray) -> np.ndarray:
    bits = (words & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)
    return bits.view(np.float32) - np.float32(1.0)


def _unit_f64(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    # 20 mantissa bits from the first word, 32 from the second.
    mantissa = (high.astype(np.uint64) & np.uint64(0xFFFFF)) << _SHIFT | low.astype(np.uint64)
    return (mantissa | np.uint64(0x3FF0000000000000)).view(np.float64) - 1.0


def _unit_f16(words: np.ndarray) -> np.ndarray:
    bits = ((words & np.uint32(0x3FF)) | np.uint32(0x3C00)).astype(np.uint16)
    return bits.view(np.float16) - np.float16(1.0)


def _unit_bf16(words: np.ndarray) -> np.ndarray:
    # bfloat16 is the top half of a float32: 7 random mantissa bits; the difference is exact.
    bits = ((words & np.uint32(0x7F)) | np.uint32(0x3F80)) << np.uint32(16)
    return (bits.view(np.float32) - np.float32(1.0)).astype(_BF16)


def uniform(stream: Philox, size: int, dtype: np.dtype) -> np.ndarray:
    """``size`` floats in [0, 1) as TF's ``UniformDistribution``: one word per output
    (its low 23, 10 or 7 bits for float, half, bfloat16), two per double output.

    >>> uniform(Philox(0, (0, 0)), 2, np.dtype(np.float64)).tolist()
    [0.49434459735889225, 0.4795652441805398]
    """
    if dtype == _F64:
        return _chunked(stream, size, 2, lambda b: _unit_f64(b[:, 0::2], b[:, 1::2]), dtype)
    unit = {_F32: _unit_f32, _F16: _unit_f16, _BF16: _unit_bf16}.get(dtype)
    if unit is None:
        raise InvalidArgumentError(
            f"uniform floats are half, bfloat16, float or double, not {dtype}"
        )
    return _chunked(stream, size, 4, unit, dtype)


# --- glibc's logf and sincosf: the algorithms (and tables and polynomials) of ARM's
# optimized-routines, which glibc ships since 2.28, evaluated in double as there. ---

_LOGF_INV_C = np.array([float.fromhex(h) for h in (
    "0x1.661ec79f8f3bep+0", "0x1.571ed4aaf883dp+0", "0x1.49539f0f010bp+0",
    "0x1.3c995b0b80385p+0", "0x1.30d190c8864a5p+0", "0x1.25e227b0b8eap+0",
    "0x1.1bb4a4a1a343fp+0", "0x1.12358f08ae5bap+0", "0x1.0953f419900a7p+0", "0x1p+0",
    "0x1.e608cfd9a47acp-1", "0x1.ca4b31f026aap-1", "0x1.b2036576afce6p-1",
    "0x1.9c2d163a1aa2dp-1", "0x1.886e6037841edp-1", "0x1.767dcf5534862p-1",
)])  # fmt: skip
_LOGF_LOG_C = np.array([float.fromhex(h) for h in (
    "-0x1.57bf7808caadep-2", "-0x1.2bef0a7c06ddbp-2", "-0x1.01eae7f513a67p-2",
    "-0x1.b31d8a68224e9p-3", "-0x1.6574f0ac07758p-3", "-0x1.1aa2bc79c81p-3",
    "-0x1.a4e76ce8c0e5ep-4", "-0x1.1973c5a611cccp-4", "-0x1.252f438e10c1ep-5", "0x0p+0",
    "0x1.aa5aa5df25984p-5", "0x1.c5e53aa362eb4p-4", "0x1.526e57720db08p-3",
    "0x1.bc2860d22477p-3", "0x1.1058bc8a07ee1p-2", "0x1.4043057b6ee09p-2",
)])  # fmt: skip
_LN2 = float.fromhex("0x1.62e42fefa39efp-1")
_LOGF_P0, _LOGF_P1, _LOGF_P2 = (
    float.fromhex(h)
    for h in ("-0x1.00ea348b88334p-2", "0x1.5575b0be00b6ap-2", "-0x1.ffffef20a4123p-2")
)


def _logf(x: np.ndarray) -> np.ndarray:
    """glibc's ``logf`` of positive normal float32 ``x``: x = 2**k * z with z near one of
    16 centres c, log x = k ln2 + log c + log1p(z/c - 1), the last by a polynomial."""
    ix = x.view(np.uint32)
    tmp = ix - np.uint32(0x3F330000)
    i = (tmp >> np.uint32(19)) & np.uint32(15)
    k = tmp.view(np.int32) >> np.int32(23)
    z = (ix - (tmp & np.uint32(0xFF800000))).view(np.float32).astype(np.float64)
    r = z * _LOGF_INV_C[i] - 1.0
    y0 = _LOGF_LOG_C[i] + k * _LN2
    r2 = r * r
    y = _LOGF_P1 * r + _LOGF_P2
    y = _LOGF_P0 * r2 + y
    y = y * r2 + (y0 + r)
    out: np.ndarray = y.astype(np.float32)
    out[ix == np.uint32(0x3F800000)] = 0.0
    return out


_HALF_PI_INV_2_24 = float.fromhex("0x1.45F306DC9C883p+23")  # 2/pi * 2**24
_HALF_PI = float.fromhex("0x1.921FB54442D18p0")
_COS = [float.fromhex(h) for h in (
    "0x1p0", "-0x1.ffffffd0c621cp-2", "0x1.55553e1068f19p-5", "-0x1.6c087e89a359dp-10",
    "0x1.99343027bf8c3p-16",
)]  # fmt: skip
_SIN = [float.fromhex(h) for h in (
    "-0x1.555545995a603p-3", "0x1.1107605230bc4p-7", "-0x1.994eb3774cf24p-13",
)]  # fmt: skip
_QUADRANT_SIGN = np.array([1.0, -1.0, -1.0, 1.0])


def _sincosf(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's ``sincosf`` of float32 ``y`` with |y| < 120: reduce by the nearest
    multiple n of pi/2 (none below 0.75), evaluate sine and cosine polynomials, and
    swap or negate them by quadrant."""
    top = (y.view(np.uint32) >> np.uint32(20)) & np.uint32(0x7FF)
    x = y.astype(np.float64)
    # The quadrant: 2/pi * 2**24 * x truncated to int32, rounded at bit 24.
    n = ((x * _HALF_PI_INV_2_24).astype(np.int32) + np.int32(0x800000)) >> np.int32(24)
    n[top < np.uint32(0x3F4)] = 0  # |y| < 0.75 (glibc compares the top 12 bits to pi/4)
    x = x - n * _HALF_PI
    x2 = x * x
    xs = x * _QUADRANT_SIGN[n & 3]
    cos_sign = np.where(n & 2, -1.0, 1.0)  # quadrants 2 and 3 use the negated cosine
    x3, x4 = x2 * xs, x2 * x2
    c2 = (_COS[3] + x2 * _COS[4]) * cos_sign
    s1 = _SIN[1] + x2 * _SIN[2]
    c1 = (_COS[0] + x2 * _COS[1]) * cos_sign
    x5, x6 = x3 * x2, x4 * x2
    s = xs + x3 * _SIN[0]
    c = c1 + x4 * (_COS[2] * cos_sign)
    sin = (s + x5 * s1).astype(np.float32)
    cos = (c + x6 * c2).astype(np.float32)
    odd = (n & 1).astype(bool)
    sin, cos = np.where(odd, cos, sin), np.where(odd, sin, cos)
    tiny = top < np.uint32(0x398)  # |y| < 2**-12
    sin[tiny] = y[tiny]
    cos[tiny] = 1.0
    return sin, cos


def _box_muller_f32(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two standard normal floats from two words, in float as TF computes them."""
    u1 = np.maximum(_unit_f32(x0), np.float32(1.0e-7))  # keeps log away from 0
    # 2*pi is a double in TF's expression, so the angle is rounded to float once.
    v1 = (2.0 * math.pi * _unit_f32(x1).astype(np.float64)).astype(np.float32)
    radius = np.sqrt(np.float32(-2.0) * _logf(u1))
    sin, cos = _sincosf(v1)
    return sin * radius, cos * radius


def _libm(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    # NumPy's float64 log is its own SIMD code, not the C library's; `math` calls libm.
    return np.fromiter(map(fn, x.ravel().tolist()), np.float64, x.size).reshape(x.shape)


def _box_muller_f64(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two standard normal doubles from each row of four words ``[n, 4]``."""
    u1 = np.maximum(_unit_f64(words[:, 0], words[:, 1]), 1.0e-7)
    v1 = 2.0 * math.pi * _unit_f64(words[:, 2], words[:, 3])
    radius = np.sqrt(-2.0 * _libm(math.log, u1))
    return _libm(math.sin, v1) * radius, _libm(math.cos, v1) * radius


def _normal_f32(blocks: np.ndarray) -> np.ndarray:
    out = np.empty(blocks.shape, np.float32)
    out[:, 0::2], out[:, 1::2] = _box_muller_f32(blocks[:, 0::2], blocks[:, 1::2])
    return out


def _normal_f64(blocks: np.ndarray) -> np.ndarray:
    return np.stack(_box_muller_f64(blocks), axis=-1)


def normal(stream: Philox, size: int, dtype: np.dtype) -> np.ndarray:
    """``size`` standard normal values as TF's ``NormalDistribution``: Box-Muller on each
    pair of words (float, computed in float for half and bfloat16 and rounded), or on
    each block of four words (two doubles).

    >>> normal(Philox(0, (0, 0)), 2, np.dtype(np.float32))
    array([-1.3544159 ,  0.70454913], dtype=float32)
    """
    if dtype == _F64:
        return _chunked(stream, size, 2, _normal_f64, dtype)
    if dtype not in _FLOATS:
        raise InvalidArgumentError(
            f"normal values are half, bfloat16, float or double, not {dtype}"
        )
    return _chunked(stream, size, 4, _normal_f32, _F32).astype(dtype)


_TRUNCATE_AT = 2.0
_RESERVED_WORDS_PER_OUTPUT = 256  # TF's kReservedSamplesPerOutput


def truncated_normal(stream: Philox, size: int, dtype: np.dtype) -> np.ndarray:
    """``size`` standard normal values with |x| < 2 as TF's ``TruncatedNormalDistribution``:
    a group (4 floats or 2 doubles) starts at its reserved place in the stream and takes
    Box-Muller pairs word by word, keeping the values inside the cut in order, until full.

    >>> truncated_normal(Philox(0, (0, 0)), 2, np.dtype(np.float32))
    array([-1.3544159 ,  0.70454913], dtype=float32)
    """
    if dtype not in _FLOATS:
        raise InvalidArgumentError(
            f"truncated normal values are half, bfloat16, float or double, not {dtype}"
        )
    wide = dtype == _F64
    group = 2 if wide else 4
    n_groups = -(-size // group)
    out = np.empty((n_groups, group), _F64 if wide else _F32)
    for first in range(0, n_groups, _CHUNK):
        groups = np.arange(first, min(first + _CHUNK, n_groups), dtype=np.uint64)
        out[first : first + groups.size] = _truncated_groups(stream, groups, group, wide)
    return out.reshape(-1)[:size].astype(dtype)


def _truncated_groups(stream: Philox, groups: np.ndarray, group: int, wide: bool) -> np.ndarray:
    """The values of truncated-normal ``groups`` (uint64 indices), ``[len, group]``."""
    out = np.empty((groups.size, group), _F64 if wide else _F32)
    starts = groups * np.uint64(group * _RESERVED_WORDS_PER_OUTPUT // 4)
    filled = np.zeros(groups.size, np.int64)
    pending = np.arange(groups.size)
    # Round j draws block j of every group still short: a block is two float pairs (in
    # the order f0, f1, f2, f3) or one double quadruple (d0, d1).
    block = 0
    while pending.size:
        words = stream.blocks(starts[pending] + np.uint64(block))
        values = _normal_f64(words) if wide else _normal_f32(words)
        inside = np.abs(values) < _TRUNCATE_AT
        slot = filled[pending, None] + np.cumsum(inside, axis=1) - 1
        take = inside & (slot < group)
        rows = np.broadcast_to(pending[:, None], values.shape)[take]
        out[rows, slot[take]] = values[take]
        filled[pending] += take.sum(axis=1)
        pending = pending[filled[pending] < group]
        block += 1
    return out


def _join64(blocks: np.ndarray) -> np.ndarray:
    """One uint64 per pair of words, the first word low."""
    wide = blocks.astype(np.uint64)
    return wide[:, 0::2] | wide[:, 1::2] << _SHIFT


def uniform_int(stream: Philox, size: int, minval: int, maxval: int, dtype: np.dtype) -> np.ndarray:
    """``size`` integers in [minval, maxval) as TF computes them: ``minval + bits % range``
    in unsigned arithmetic, with 32 bits per int32 and 64 per int64 (so slightly biased
    toward small offsets when the range does not divide 2**32 or 2**64).

    >>> uniform_int(Philox(0, (0, 0)), 4, -3, 3, np.dtype(np.int32)).tolist()
    [-2, 2, 1, -1]
    """
    if minval >= maxval:
        raise InvalidArgumentError(f"Need minval < maxval, got {minval} >= {maxval}")
    if dtype == _I32:
        span, low = np.uint32((maxval - minval) % 2**32), np.uint32(minval % 2**32)
        draw: Callable[[np.ndarray], np.ndarray] = lambda b: (low + b % span).view(np.int32)  # noqa: E731
        return _chunked(stream, size, 4, draw, dtype)
    if dtype == _I64:
        span64, low64 = np.uint64((maxval - minval) % 2**64), np.uint64(minval % 2**64)
        draw = lambda b: (low64 + _join64(b) % span64).view(np.int64)  # noqa: E731
        return _chunked(stream, size, 2, draw, dtype)
    raise InvalidArgumentError(f"uniform integers in a range are int32 or int64, not {dtype}")


def uniform_full_int(stream: Philox, size: int, dtype: np.dtype) -> np.ndarray:
    """``size`` integers over the whole range of ``dtype`` (int32, int64, uint32, uint64):
    the stream's words as they are, two per 64-bit value, the first low.

    >>> uniform_full_int(Philox(0, (0, 0)), 2, np.dtype(np.uint32)).tolist()
    [1713891541, 3781805453]
    """
    if dtype in (_I32, _U32T):
        return _chunked(stream, size, 4, lambda b: b.view(dtype), dtype)
    if dtype in (_I64, _U64T):
        return _chunked(stream, size, 2, lambda b: _join64(b).view(dtype), dtype)
    raise InvalidArgumentError(
        f"full-range integers are int32, int64, uint32 or uint64, not {dtype}"
    )
