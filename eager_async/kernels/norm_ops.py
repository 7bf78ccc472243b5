"""Fused batch normalisation and its gradient, as TensorFlow 2.21's CPU kernels fill every
output: FusedBatchNorm, FusedBatchNormV2, FusedBatchNormV3 and FusedBatchNormGrad(V2, V3).

``x`` is 4-d or 5-d; its channels are the last axis, or axis 1 for the channels-first
layouts (NCHW, NCDHW, whichever the tensor's rank). Statistics are taken over every other
axis, in float32 (the ``U`` type) whatever ``x``'s type, and ``y`` is rounded to it once.
Where TF's kernels differ from the textbook:

- training normalises with the biased batch variance, but outputs Bessel's correction of
  it (``n / (n - 1)``, with ``n - 1`` taken as 1 for a single element) as
  ``batch_variance``; ``reserve_space_1``/``_2`` hold the batch mean and the *biased*
  variance, which the gradient reads back;
- ``exponential_avg_factor`` f != 1 blends the outputs with the running statistics:
  ``(1 - f) * running + f * batch`` (the variance term Bessel-corrected); with f == 1 the
  ``mean``/``variance`` inputs are not read, so any length passes;
- in inference the outputs repeat ``mean`` and ``variance``; TF leaves the reserve spaces
  uninitialised there (zeros here), and ``reserve_space_3`` is always a scalar 0;
- an empty ``x`` gives NaN batch statistics (in both modes) and zero scale/offset
  gradients;
- the inference gradient (``is_training=False``) refuses channels-first layouts once
  ``x`` has elements; the gradients' last two outputs are always empty vectors, and
  FusedBatchNormGradV3 ignores its ``reserve_space_3`` input.

>>> x = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)
>>> out = fused_batch_norm_v3(x, *[np.array([v], np.float32) for v in (1, 0, 0, 1)],
...     epsilon=0.0, exponential_avg_factor=1.0, data_format=b"NHWC", is_training=True)
>>> [float(out[k][0]) for k in (1, 2, 4)]  # mean; variance with and without Bessel's n - 1
[1.5, 1.6666667461395264, 1.25]
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import FLOAT32, shape_str
from .registry import op
from .specs import Shape, TensorSpec

__all__ = [
    "fused_batch_norm",
    "fused_batch_norm_grad",
    "fused_batch_norm_grad_v2",
    "fused_batch_norm_grad_v3",
    "fused_batch_norm_v2",
    "fused_batch_norm_v3",
]

_F64 = np.dtype(np.float64)
Outputs = tuple[np.ndarray, ...]


def _channel_axis(rank: int, data_format: bytes) -> int:
    return 1 if data_format.startswith(b"NC") else rank - 1


def _rank(shape: Shape, ranks: tuple[int, ...], message: str) -> None:
    if shape is not None and len(shape) not in ranks:
        raise InvalidArgumentError(f"{message}{shape_str(shape)}")


def _count(shape: Shape) -> int:
    return -1 if shape is None or shape[0] < 0 else shape[0]


def _channels(x: Shape, data_format: bytes) -> int:
    return -1 if x is None else x[_channel_axis(len(x), data_format)]


def _same_count(what: str, shape: Shape, channels: int, prefix: str = "") -> None:
    count = _count(shape)
    if count >= 0 and channels >= 0 and count != channels:
        raise InvalidArgumentError(
            f"{prefix}{what} must have the same number of elements as the channels of x, got "
            f"{count} and {channels}"
        )


def _forward_checks(x: TensorSpec, scale: TensorSpec, offset: TensorSpec, mean: TensorSpec,
                    variance: TensorSpec, exponential_avg_factor: float, data_format: bytes,
                    is_training: bool) -> Shape:
    """FusedBatchNorm's checks, in TF's order; the shape of the statistics outputs."""
    _rank(x.shape, (4, 5), "input must be 4 or 5-dimensional")
    for what, spec in (("scale", scale), ("offset", offset), ("estimated_mean", mean),
                       ("estimated_variance", variance)):
        _rank(spec.shape, (1,), f"{what} must be 1-dimensional")
    channels = _channels(x.shape, data_format)
    _same_count("scale", scale.shape, channels)
    _same_count("offset", offset.shape, channels)
    if not is_training or np.float32(exponential_avg_factor) != 1:
        prefix = ("When exponential_avg_factor != 1, " if is_training
                  else "When is_training=false, ")
        _same_count("mean", mean.shape, channels, prefix)
        _same_count("variance", variance.shape, channels, prefix)
    return scale.shape if scale.shape is not None else (-1,)


def _channels_last(a: np.ndarray, data_format: bytes) -> np.ndarray:
    """``a`` as a (rest, channels) matrix."""
    axis = _channel_axis(a.ndim, data_format)
    return np.moveaxis(a, axis, -1).reshape(-1, a.shape[axis])


def _restore(flat: np.ndarray, like: np.ndarray, data_format: bytes) -> np.ndarray:
    """A (rest, channels) matrix back in the layout of ``like``."""
    axis = _channel_axis(like.ndim, data_format)
    rest = [d for i, d in enumerate(like.shape) if i != axis]
    return np.ascontiguousarray(np.moveaxis(flat.reshape(*rest, like.shape[axis]), -1, axis))


def _sum(a: np.ndarray) -> np.ndarray:
    """A float32 column sum, accumulated in float64 (close to Eigen's tree reduction)."""
    return np.asarray(a.sum(axis=0, dtype=_F64), FLOAT32)


def _batch_norm(x: np.ndarray, scale: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                variance: np.ndarray, epsilon: float, exponential_avg_factor: float,
                data_format: bytes, is_training: bool) -> Outputs:
    """y, batch_mean, batch_variance, reserve_space_1, reserve_space_2."""
    x_spec, scale_spec, offset_spec, mean_spec, var_spec = (
        TensorSpec(a.dtype, a.shape) for a in (x, scale, offset, mean, variance))
    _forward_checks(x_spec, scale_spec, offset_spec, mean_spec, var_spec, exponential_avg_factor,
                    data_format, is_training)
    f32 = np.float32
    eps, factor = f32(epsilon), f32(exponential_avg_factor)
    reserve = np.zeros(scale.shape, FLOAT32)
    if x.size == 0:
        nan = np.full(scale.shape, np.nan, FLOAT32)
        return np.zeros(x.shape, x.dtype), nan, nan, reserve, reserve
    flat = _channels_last(x, data_format).astype(FLOAT32)
    with np.errstate(all="ignore"):
        if not is_training:
            scaling = f32(1) / np.sqrt(variance + eps) * scale
            y = (flat - mean) * scaling + offset
            return _restore(y.astype(x.dtype), x, data_format), mean, variance, reserve, reserve
        rest = flat.shape[0]
        inverse = f32(f32(1) / f32(rest))
        batch_mean = _sum(flat) * inverse
        centered = flat - batch_mean
        batch_var = _sum(np.square(centered)) * inverse
        y = centered * (f32(1) / np.sqrt(batch_var + eps) * scale) + offset
        bessel = f32(rest) / f32(max(rest - 1, 1))
        new_mean, new_var = batch_mean, batch_var * bessel
        if factor != 1:
            new_var = (f32(1) - factor) * variance + (factor * bessel) * batch_var
            new_mean = (f32(1) - factor) * mean + factor * batch_mean
    return _restore(y.astype(x.dtype), x, data_format), new_mean, new_var, batch_mean, batch_var


def _forward_rule(x: TensorSpec, scale: TensorSpec, offset: TensorSpec, mean: TensorSpec,
                  variance: TensorSpec, *, exponential_avg_factor: float, data_format: bytes,
                  is_training: bool) -> tuple[Shape, ...]:
    stats = _forward_checks(x, scale, offset, mean, variance, exponential_avg_factor,
                            data_format, is_training)
    return (x.shape, stats, stats, stats, stats)


def _v3_rule(x: TensorSpec, scale: TensorSpec, offset: TensorSpec, mean: TensorSpec,
             variance: TensorSpec, *, exponential_avg_factor: float, data_format: bytes,
             is_training: bool) -> tuple[Shape, ...]:
    return (*_forward_rule(x, scale, offset, mean, variance,
                           exponential_avg_factor=exponential_avg_factor,
                           data_format=data_format, is_training=is_training), ())


@op("FusedBatchNorm", shape=_forward_rule)
def fused_batch_norm(x: np.ndarray, scale: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                     variance: np.ndarray, *, epsilon: float, exponential_avg_factor: float,
                     data_format: bytes, is_training: bool) -> Outputs:
    """Batch normalisation of float32 ``x`` per channel (see the module doc for outputs)."""
    return _batch_norm(x, scale, offset, mean, variance, epsilon, exponential_avg_factor,
                       data_format, is_training)


@op("FusedBatchNormV2", shape=_forward_rule)
def fused_batch_norm_v2(x: np.ndarray, scale: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                        variance: np.ndarray, *, epsilon: float, exponential_avg_factor: float,
                        data_format: bytes, is_training: bool) -> Outputs:
    """FusedBatchNorm for half-type ``x`` too, with float32 statistics."""
    return _batch_norm(x, scale, offset, mean, variance, epsilon, exponential_avg_factor,
                       data_format, is_training)


@op("FusedBatchNormV3", shape=_v3_rule)
def fused_batch_norm_v3(x: np.ndarray, scale: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                        variance: np.ndarray, *, epsilon: float, exponential_avg_factor: float,
                        data_format: bytes, is_training: bool) -> Outputs:
    """FusedBatchNormV2 and a sixth output, ``reserve_space_3``: a scalar 0 on CPU."""
    outputs = _batch_norm(x, scale, offset, mean, variance, epsilon, exponential_avg_factor,
                          data_format, is_training)
    return (*outputs, np.zeros((), FLOAT32))


# --- Gradients ----------------------------------------------------------------------------


def _grad_checks(dy: TensorSpec, x: TensorSpec, scale: TensorSpec, saved_mean: TensorSpec,
                 saved_var: TensorSpec, data_format: bytes, is_training: bool) -> Shape:
    """FusedBatchNormGrad's checks, in TF's order; the shape of scale's gradients."""
    for spec in (dy, x):
        _rank(spec.shape, (4, 5), "input must be 4 or 5-dimensional")
    _rank(scale.shape, (1,), "scale must be 1-dimensional")
    _rank(saved_mean.shape, (1,), "saved mean must be 1-dimensional")
    _rank(saved_var.shape, (1,), "saved variance must be 1-dimensional")
    if dy.shape is not None and x.shape is not None and (
        len(dy.shape) != len(x.shape)
        or any(a >= 0 and b >= 0 and a != b for a, b in zip(dy.shape, x.shape, strict=True))
    ):
        raise InvalidArgumentError(
            f"x and y_backprop must have same shape, but x has shape {shape_str(x.shape)} and "
            f"y_backprop has shape {shape_str(dy.shape)}"
        )
    channels = _channels(x.shape if x.shape is not None else dy.shape, data_format)
    _same_count("scale", scale.shape, channels)
    _same_count("reserve_space_1", saved_mean.shape, channels)
    _same_count("reserve_space_2", saved_var.shape, channels)
    work = x.shape is not None and min(x.shape) > 0
    if work and not is_training and data_format.startswith(b"NC"):
        raise InvalidArgumentError(
            "The implementation of FusedBatchNormGrad with is_training=False only support "
            "NHWC tensor format for now."
        )
    return scale.shape if scale.shape is not None else (-1,)


def _batch_norm_grad(dy: np.ndarray, x: np.ndarray, scale: np.ndarray, mean: np.ndarray,
                     variance: np.ndarray, epsilon: float, data_format: bytes,
                     is_training: bool) -> Outputs:
    """x_backprop, scale_backprop, offset_backprop and two empty placeholders."""
    dy_spec, x_spec, scale_spec, mean_spec, var_spec = (
        TensorSpec(a.dtype, a.shape) for a in (dy, x, scale, mean, variance))
    _grad_checks(dy_spec, x_spec, scale_spec, mean_spec, var_spec, data_format, is_training)
    empty = np.zeros((0,), FLOAT32)
    if x.size == 0:
        zeros = np.zeros(scale.shape, FLOAT32)
        return np.zeros(x.shape, x.dtype), zeros, zeros, empty, empty
    f32 = np.float32
    g = _channels_last(dy, data_format).astype(FLOAT32)
    centered = _channels_last(x, data_format).astype(FLOAT32) - mean
    with np.errstate(all="ignore"):
        rstd = f32(1) / np.sqrt(variance + f32(epsilon))
        offset_grad = _sum(g)
        if not is_training:
            x_grad = g * (rstd * scale)
            scale_grad = _sum(g * centered) * rstd
        else:
            scale_grad = _sum(g * (centered * rstd))
            rest = g.shape[0]
            g_mean = offset_grad * f32(f32(1) / f32(rest))
            g_centered_mean = _sum(g * centered) / f32(rest)
            coef = np.square(rstd) * g_centered_mean
            x_grad = (scale * rstd) * ((g - g_mean) - centered * coef)
    x_grad = _restore(x_grad.astype(x.dtype), x, data_format)
    return x_grad, scale_grad, offset_grad, empty, empty


def _grad_rule(y_backprop: TensorSpec, x: TensorSpec, scale: TensorSpec,
               reserve_space_1: TensorSpec, reserve_space_2: TensorSpec, *,
               data_format: bytes, is_training: bool) -> tuple[Shape, ...]:
    stats = _grad_checks(y_backprop, x, scale, reserve_space_1, reserve_space_2, data_format,
                         is_training)
    return (x.shape if x.shape is not None else y_backprop.shape, stats, stats, (0,), (0,))


def _grad_v3_rule(y_backprop: TensorSpec, x: TensorSpec, scale: TensorSpec,
                  reserve_space_1: TensorSpec, reserve_space_2: TensorSpec,
                  reserve_space_3: TensorSpec, *, data_format: bytes, is_training: bool
                  ) -> tuple[Shape, ...]:
    return _grad_rule(y_backprop, x, scale, reserve_space_1, reserve_space_2,
                      data_format=data_format, is_training=is_training)


@op("FusedBatchNormGrad", shape=_grad_rule)
def fused_batch_norm_grad(y_backprop: np.ndarray, x: np.ndarray, scale: np.ndarray,
                          reserve_space_1: np.ndarray, reserve_space_2: np.ndarray, *,
                          epsilon: float, data_format: bytes, is_training: bool) -> Outputs:
    """Gradients of FusedBatchNorm for x, scale and offset, from the saved batch mean and
    biased variance (training) or the population ones (inference)."""
    return _batch_norm_grad(y_backprop, x, scale, reserve_space_1, reserve_space_2, epsilon,
                            data_format, is_training)


@op("FusedBatchNormGradV2", shape=_grad_rule)
def fused_batch_norm_grad_v2(y_backprop: np.ndarray, x: np.ndarray, scale: np.ndarray,
                             reserve_space_1: np.ndarray, reserve_space_2: np.ndarray, *,
                             epsilon: float, data_format: bytes, is_training: bool) -> Outputs:
    """FusedBatchNormGrad for half-type ``x`` too, with float32 statistics."""
    return _batch_norm_grad(y_backprop, x, scale, reserve_space_1, reserve_space_2, epsilon,
                            data_format, is_training)


@op("FusedBatchNormGradV3", shape=_grad_v3_rule)
def fused_batch_norm_grad_v3(y_backprop: np.ndarray, x: np.ndarray, scale: np.ndarray,
                             reserve_space_1: np.ndarray, reserve_space_2: np.ndarray,
                             reserve_space_3: np.ndarray, *, epsilon: float, data_format: bytes,
                             is_training: bool) -> Outputs:
    """FusedBatchNormGradV2 with FusedBatchNormV3's ``reserve_space_3`` (unused on CPU)."""
    return _batch_norm_grad(y_backprop, x, scale, reserve_space_1, reserve_space_2, epsilon,
                            data_format, is_training)
