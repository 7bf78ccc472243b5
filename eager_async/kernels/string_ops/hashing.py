"""Hashing strings bit for bit as TF: StringToHashBucketFast with TF's ``Fingerprint64``
(FarmHash's, ``fingerprint64``) and StringToHashBucketStrong with TF's
``StrongKeyedHash`` (SipHash-2-4, ``siphash``).

Where TF differs from the textbook: ``Fingerprint64`` is farmhashna's ``Hash64`` (not
CityHash's, nor Python's ``hash``), and the strong hash's two key values are taken
modulo 2**64, as the uint64s TF reads them as.

>>> string_to_hash_bucket_fast(np.array([b"", b"a"], dtype=object), num_buckets=10)
array([3, 9])
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import STRING
from ..registry import op, same_shape
from ..specs import Shape, TensorSpec
from ._common import I64, map_elements

_M64 = (1 << 64) - 1
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


def _u64(s: bytes, at: int) -> int:
    return int.from_bytes(s[at : at + 8], "little")


def _rot(v: int, shift: int) -> int:
    return ((v >> shift) | (v << (64 - shift))) & _M64 if shift else v


def _mix(v: int) -> int:
    return v ^ (v >> 47)


def _hash16(u: int, v: int, mul: int) -> int:
    a = _mix(((u ^ v) * mul) & _M64)
    b = _mix(((v ^ a) * mul) & _M64)
    return (b * mul) & _M64


def _weak32(s: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_u64(s, at + k) for k in (0, 8, 16, 24))
    a = (a + w) & _M64
    b = _rot((b + a + z) & _M64, 21)
    c = a
    a = (a + x + y) & _M64
    return (a + z) & _M64, (b + _rot(a, 44) + c) & _M64


def _farmhash_short(s: bytes) -> int:
    """FarmHash's ``HashLen0to16``, ``17to32`` and ``33to64``."""
    n = len(s)
    mul = _K2 + 2 * n
    if n > 32:
        a, b = (_u64(s, 0) * _K2) & _M64, _u64(s, 8)
        c, d = (_u64(s, n - 8) * mul) & _M64, (_u64(s, n - 16) * _K2) & _M64
        y = (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64
        z = _hash16(y, (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)
        e, f = (_u64(s, 16) * mul) & _M64, _u64(s, 24)
        g, h = ((y + _u64(s, n - 32)) * mul) & _M64, ((z + _u64(s, n - 24)) * mul) & _M64
        return _hash16((_rot((e + f) & _M64, 43) + _rot(g, 30) + h) & _M64,
                       (e + _rot((f + a) & _M64, 18) + g) & _M64, mul)  # fmt: skip
    if n > 16:
        a, b = (_u64(s, 0) * _K1) & _M64, _u64(s, 8)
        c, d = (_u64(s, n - 8) * mul) & _M64, (_u64(s, n - 16) * _K2) & _M64
        return _hash16((_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64,
                       (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)  # fmt: skip
    if n >= 8:
        a, b = (_u64(s, 0) + _K2) & _M64, _u64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _M64
        return _hash16(c, ((_rot(a, 25) + b) * mul) & _M64, mul)
    if n >= 4:
        first, last = int.from_bytes(s[:4], "little"), int.from_bytes(s[-4:], "little")
        return _hash16(n + (first << 3), last, mul)
    if n:
        y, z = s[0] + (s[n >> 1] << 8), n + (s[-1] << 2)
        return (_mix(((y * _K2) ^ (z * _K0)) & _M64) * _K2) & _M64
    return _K2


def fingerprint64(s: bytes) -> int:
    """TF's ``Fingerprint64``: FarmHash's ``Fingerprint64`` (farmhashna ``Hash64``).

    >>> hex(fingerprint64(b""))
    '0x9ae16a3b2f90404f'
    """
    n = len(s)
    if n <= 64:
        return _farmhash_short(s)
    x, y = 81, (81 * _K1 + 113) & _M64
    z = (_mix((y * _K2 + 113) & _M64) * _K2) & _M64
    v, w = (0, 0), (0, 0)
    x = (x * _K2 + _u64(s, 0)) & _M64
    for at in range(0, ((n - 1) // 64) * 64, 64):
        x = (_rot((x + y + v[0] + _u64(s, at + 8)) & _M64, 37) * _K1) & _M64
        y = (_rot((y + v[1] + _u64(s, at + 48)) & _M64, 42) * _K1) & _M64
        x ^= w[1]
        y = (y + v[0] + _u64(s, at + 40)) & _M64
        z = (_rot((z + w[0]) & _M64, 33) * _K1) & _M64
        v = _weak32(s, at, (v[1] * _K1) & _M64, (x + w[0]) & _M64)
        w = _weak32(s, at + 32, (z + w[1]) & _M64, (y + _u64(s, at + 16)) & _M64)
        x, z = z, x
    mul = _K1 + ((z & 0xFF) << 1)
    at = n - 64
    w0 = (w[0] + ((n - 1) & 63)) & _M64
    v0 = (v[0] + w0) & _M64
    w0 = (w0 + v0) & _M64
    x = (_rot((x + y + v0 + _u64(s, at + 8)) & _M64, 37) * mul) & _M64
    y = (_rot((y + v[1] + _u64(s, at + 48)) & _M64, 42) * mul) & _M64
    x ^= (w[1] * 9) & _M64
    y = (y + v0 * 9 + _u64(s, at + 40)) & _M64
    z = (_rot((z + w0) & _M64, 33) * mul) & _M64
    v = _weak32(s, at, (v[1] * mul) & _M64, (x + w0) & _M64)
    w = _weak32(s, at + 32, (z + w[1]) & _M64, (y + _u64(s, at + 16)) & _M64)
    x, z = z, x
    return _hash16((_hash16(v[0], w[0], mul) + _mix(y) * _K0 + z) & _M64,
                   (_hash16(v[1], w[1], mul) + x) & _M64, mul)  # fmt: skip


def siphash(k0: int, k1: int, s: bytes) -> int:
    """SipHash-2-4 of ``s`` under the key ``(k0, k1)``: TF's ``StrongKeyedHash``."""
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]  # fmt: skip

    def rounds(count: int) -> None:
        for _ in range(count):
            v[0] = (v[0] + v[1]) & _M64
            v[1] = _rot(v[1], 51) ^ v[0]
            v[0] = _rot(v[0], 32)
            v[2] = (v[2] + v[3]) & _M64
            v[3] = _rot(v[3], 48) ^ v[2]
            v[0] = (v[0] + v[3]) & _M64
            v[3] = _rot(v[3], 43) ^ v[0]
            v[2] = (v[2] + v[1]) & _M64
            v[1] = _rot(v[1], 47) ^ v[2]
            v[2] = _rot(v[2], 32)

    full = len(s) - len(s) % 8
    blocks = [_u64(s, at) for at in range(0, full, 8)]
    blocks.append(((len(s) & 0xFF) << 56) | int.from_bytes(s[full:], "little"))
    for block in blocks:
        v[3] ^= block
        rounds(2)
        v[0] ^= block
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


@op("StringToHashBucketFast", shape=same_shape)
def string_to_hash_bucket_fast(input: np.ndarray, *, num_buckets: int) -> np.ndarray:
    """``Fingerprint64(s) % num_buckets`` per string, bit for bit as TF."""
    return map_elements(lambda s: fingerprint64(s) % num_buckets, input, I64)


def _strong_rule(input: TensorSpec, *, num_buckets: int, key: list[int]) -> Shape:
    if len(key) != 2:
        raise InvalidArgumentError("Key must have 2 elements")
    return input.shape


@op("StringToHashBucketStrong", shape=_strong_rule)
def string_to_hash_bucket_strong(
    input: np.ndarray, *, num_buckets: int, key: list[int]
) -> np.ndarray:
    """``SipHash-2-4(key, s) % num_buckets`` per string, bit for bit as TF."""
    _strong_rule(TensorSpec(STRING, input.shape), num_buckets=num_buckets, key=key)
    k0, k1 = (k & _M64 for k in key)
    return map_elements(lambda s: siphash(k0, k1, s) % num_buckets, input, I64)
