"""TensorFlow's binomial sampler on CPU, in NumPy, bit for bit: what StatefulRandomBinomial
(``tf.random.Generator.binomial``) draws from a Philox stream.

The output is ``[samples..., batch...]``: batch member ``b`` (of the broadcast counts and
probs) and sample ``s`` is value ``s * batches + b``, drawn from its own place in the
stream, keyed by ``i = b * samples + s``. By the count and probability p (in the probs'
dtype; q = 1 - p when p > 0.5, the result then being ``count - k``):

- count <= 0 or p <= 0: 0; p >= 1: count; p NaN: NaN;
- count * p >= 10: Hormann's BTRS transformed rejection, a block (two doubles: u, then
  v, the block's second double first) per round, from block ``256 * i``;
- otherwise inversion: add geometric variates ``ceil(log(u) / log1p(-p))`` until the sum
  passes the count, one double per step (again each block's second double first), from
  block ``42 * i``.

The logarithms are the C library's, one ``math`` call per value, as in TF's build; the
rest is double arithmetic in TF's order (``count * p >= 10`` in the probs' dtype). The
samplers are vectorised by rounds: every sample still short takes its next block.

>>> binomial(Philox(0, (0, 0)), np.float64([10, 50]), np.float64([0.5, 0.9]), 2).tolist()
[[5.0, 43.0], [6.0, 46.0]]
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import InvalidArgumentError
from .philox import Philox

__all__ = ["binomial"]

_BTRS_BLOCKS = 256  # blocks reserved per BTRS sample
_INVERSION_BLOCKS = 42  # blocks reserved per inversion sample (mean and variance <= 10)
# Stirling's series tail log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2], k <= 9.
_STIRLING_TAIL = np.array([
    0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
    0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
    0.00925546218271273, 0.00833056343336287,
])  # fmt: skip
_MANTISSA_HIGH = np.uint64(0xFFFFF)
_ONE = np.uint64(0x3FF0000000000000)


def _libm(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """``fn`` (``math.log`` or ``math.log1p``) of each value, as the C library answers
    outside ``math``'s domain too: -inf at the pole, NaN below it, inf at inf."""
    pole = 0.0 if fn is math.log else -1.0
    out = np.full(x.shape, np.nan)
    out[x == pole] = -np.inf
    out[x == np.inf] = np.inf
    ok = (x > pole) & (x < np.inf)
    out[ok] = np.fromiter(map(fn, x[ok].tolist()), np.float64, int(ok.sum()))
    return out


def _doubles(stream: Philox, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two uniform doubles of each block ``offsets``: (second, first), the order
    TF's samplers take them in."""
    words = stream.blocks(offsets).astype(np.uint64)
    pair = [((words[:, i] & _MANTISSA_HIGH) << np.uint64(32) | words[:, i + 1]) | _ONE
            for i in (0, 2)]  # fmt: skip
    first, second = (p.view(np.float64) - 1.0 for p in pair)
    return second, first


def _stirling_tail(k: np.ndarray) -> np.ndarray:
    small = k <= 9
    kp1sq = (k + 1) * (k + 1)
    tail: np.ndarray = (1.0 / 12 - (1.0 / 360 - (1.0 / 1260) / kp1sq) / kp1sq) / (k + 1)
    tail[small] = _STIRLING_TAIL[k[small].astype(np.int64)]
    return tail


def _btrs(stream: Philox, starts: np.ndarray, count: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Samples by transformed rejection, each from its block ``starts`` on."""
    stddev = np.sqrt(count * p * (1 - p))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = count * p + 0.5
    v_r = 0.92 - 4.2 / b
    r = p / (1 - p)
    alpha = (2.83 + 5.1 / b) * stddev
    m = np.floor((count + 1) * p)
    # The parts of the acceptance bound that depend on the sample's parameters only.
    fixed = (m + 0.5) * _libm(math.log, (m + 1) / (r * (count - m + 1)))
    out = np.empty(count.size)
    pending = np.arange(count.size)
    block = np.uint64(0)
    while pending.size:
        u, v = _doubles(stream, starts[pending] + block)
        n, ap, bp = count[pending], a[pending], b[pending]
        u = u - 0.5
        us = 0.5 - np.abs(u)
        k = np.floor((2 * ap / us + bp) * u + c[pending])
        done = (us >= 0.07) & (v <= v_r[pending])
        test = ~done & ~((k < 0) | (k > n))
        if test.any():
            t, kt, nt, mt, rt = (x[test] for x in (pending, k, n, m[pending], r[pending]))
            lhs = _libm(math.log, v[test] * alpha[t] / (a[t] / (us[test] * us[test]) + b[t]))
            bound = (
                fixed[t]
                + (nt + 1) * _libm(math.log, (nt - mt + 1) / (nt - kt + 1))
                + (kt + 0.5) * _libm(math.log, rt * (nt - kt + 1) / (kt + 1))
                + _stirling_tail(mt) + _stirling_tail(nt - mt)
                - _stirling_tail(kt) - _stirling_tail(nt - kt)
            )  # fmt: skip
            done[test] = lhs <= bound
        out[pending[done]] = k[done]
        pending = pending[~done]
        block += np.uint64(1)
    return out


def _inversion(stream: Philox, starts: np.ndarray, count: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Samples by summing geometric variates, each from its block ``starts`` on."""
    log_q = _libm(math.log1p, -p)
    total = np.zeros(count.size)
    out = np.zeros(count.size)
    pending = np.arange(count.size)
    block = np.uint64(0)
    while pending.size:
        alive = np.ones(pending.size, bool)
        for u in _doubles(stream, starts[pending] + block):
            rows = pending[alive]
            total[rows] += np.ceil(_libm(math.log, u[alive]) / log_q[rows])
            over = total[rows] > count[rows]
            out[rows[~over]] += 1
            alive[np.flatnonzero(alive)[over]] = False
        pending = pending[alive]
        block += np.uint64(1)
    return out


def binomial(stream: Philox, counts: np.ndarray, probs: np.ndarray, samples: int) -> np.ndarray:
    """``samples`` draws for each batch member (``counts`` and ``probs``: 1-D, of the
    probs' dtype), as doubles ``[samples, batches]``.

    A NaN count with p in (0, 1) is refused: TF's inversion never ends on one.
    """
    batches = counts.size
    shape = (batches, samples)
    index = np.arange(batches * samples, dtype=np.uint64)
    count = np.broadcast_to(counts.astype(np.float64)[:, None], shape).ravel()
    prob = np.broadcast_to(probs[:, None], shape).ravel()
    out = np.full(index.size, np.nan)
    with np.errstate(all="ignore"):
        out[(count <= 0) | (prob <= 0)] = 0.0
        full = ~(count <= 0) & (prob >= 1)
        out[full] = count[full]
        flip = ~(count <= 0) & (prob > 0.5) & (prob < 1)
        p = np.where(flip, 1 - prob, prob)  # 1 - p in the probs' dtype, as TF
        draw = ~(count <= 0) & (prob > 0) & (prob < 1)
        if np.isnan(count[draw]).any():
            raise InvalidArgumentError(
                "counts must not be NaN where 0 < probs < 1: TensorFlow's sampler never "
                "finishes on one"
            )
        big = draw & (count.astype(probs.dtype) * p >= 10)
        small = draw & ~big
        for where, sampler, blocks in ((big, _btrs, _BTRS_BLOCKS),
                                       (small, _inversion, _INVERSION_BLOCKS)):  # fmt: skip
            if where.any():
                k = sampler(stream, index[where] * np.uint64(blocks), count[where],
                            p[where].astype(np.float64))  # fmt: skip
                out[where] = np.where(flip[where], count[where] - k, k)
    return out.reshape(shape).T
