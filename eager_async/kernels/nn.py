"""Activations, softmax, losses and InTopKV2 (TF's nn_ops); convolutions live in conv.py.

Where TF differs from a textbook formula:

- Relu and Relu6 keep NaN (``max(NaN, 0)`` is NaN) and run on integers too;
- LeakyRelu is ``x > 0 ? x : alpha * x`` for any alpha (not ``max(x, alpha * x)``),
  with alpha rounded to float32 (the attr's type) and then to the tensor's dtype;
- Elu and Selu use ``exp(x) - 1`` on the negative side, like TF's functor;
- Softplus switches to ``x`` above ``-log(eps) - 2`` and to ``exp(x)`` below
  ``log(eps) + 2`` (eps of the tensor's dtype);
- Softmax and LogSoftmax work on the last axis, shifted by its max for stability;
- SparseSoftmaxCrossEntropyWithLogits rejects an out-of-range label (TF's CPU check),
  while InTopKV2 just answers False for one, and for any row holding a non-finite
  prediction; ties with the target count in its favour.

Half types are computed in float32 and rounded once.

>>> leaky_relu(np.float32([-1, 2]), alpha=0.5).tolist()
[-0.5, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable

import ml_dtypes
import numpy as np

from ..errors import InvalidArgumentError
from ._checks import BOOL, COMPLEX, FLOAT32, HALVES, broadcast, merge, shape_str
from .registry import op, same_shape
from .specs import Shape, TensorSpec

__all__ = [
    "ACTIVATIONS",
    "in_top_k_v2",
    "l2_loss",
    "leaky_relu",
    "log_softmax",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softplus",
    "sparse_softmax_cross_entropy_with_logits",
]

Fn = Callable[[np.ndarray], np.ndarray]

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


def _apply(x: np.ndarray, fn: Fn) -> np.ndarray:
    """``fn(x)`` in x's dtype, going through float32 for half types."""
    wide = x.astype(FLOAT32) if x.dtype in HALVES else x
    with np.errstate(all="ignore"):
        return np.asarray(fn(wide)).astype(x.dtype)


def _spec(a: np.ndarray) -> TensorSpec:
    """The spec of a kernel's input, its value known, for a shape check to read."""
    return TensorSpec(a.dtype, a.shape, a)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.maximum(x, x.dtype.type(0)))


def _relu6(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.minimum(np.maximum(x, x.dtype.type(0)), x.dtype.type(6)))


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, np.exp(x) - 1, x)


def _selu(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, (SELU_SCALE * SELU_ALPHA) * (np.exp(x) - 1), SELU_SCALE * x)


def _softsign(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / (1 + np.abs(x)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    if x.dtype in COMPLEX:
        return np.asarray(1 / (1 + np.exp(-x)))
    # exp of a non-positive number only: no overflow on either side.
    e = np.exp(-np.abs(x))
    return np.asarray(np.where(x >= 0, 1 / (1 + e), e / (1 + e)))


# Op name -> the function of the (widened) input; the op defs say which types each takes.
ACTIVATIONS: dict[str, Fn] = {
    "Relu": _relu,
    "Relu6": _relu6,
    "Elu": _elu,
    "Selu": _selu,
    "Softsign": _softsign,
    "Sigmoid": _sigmoid,
}


def _activation(fn: Fn) -> Fn:
    def kernel(x: np.ndarray) -> np.ndarray:
        return _apply(x, fn)

    return kernel


for _name, _fn in ACTIVATIONS.items():
    op(_name, shape=same_shape)(_activation(_fn))


@op("Softplus", shape=same_shape)
def softplus(x: np.ndarray) -> np.ndarray:
    """``log(exp(x) + 1)``, with TF's cut-offs at the epsilon of x's own dtype."""
    # ml_dtypes' finfo knows bfloat16 too (NumPy's refuses it).
    threshold = float(np.log(ml_dtypes.finfo(x.dtype).eps)) + 2  # type: ignore[no-untyped-call]

    def fn(v: np.ndarray) -> np.ndarray:
        e = np.exp(v)
        return np.where(v > -threshold, v, np.where(v < threshold, e, np.log(e + 1)))

    return _apply(x, fn)


@op("LeakyRelu", shape=same_shape)
def leaky_relu(x: np.ndarray, *, alpha: float) -> np.ndarray:
    """``x > 0 ? x : alpha * x``; alpha may be above 1 or negative."""
    # TF multiplies in T by its float attr: alpha is a float32 cast to T, so even a
    # double tensor is scaled by float32(0.2), not by 0.2.
    a = np.float32(alpha).astype(x.dtype).astype(FLOAT32 if x.dtype in HALVES else x.dtype)
    return _apply(x, lambda v: np.where(v > 0, v, v * a))


def _logits(shape: Shape) -> Shape:
    if shape is not None and len(shape) < 1:
        raise InvalidArgumentError(f"logits must have >= 1 dimension, got {shape_str(shape)}")
    return shape


def _logits_shape(logits: TensorSpec) -> Shape:
    return _logits(logits.shape)


def _shifted(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x - max(x)`` over the last axis and the log of its exp-sum (keepdims)."""
    top = np.max(x, axis=-1, keepdims=True, initial=-np.inf)
    shifted = x - top
    return shifted, np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


@op("Softmax", shape=_logits_shape)
def softmax(logits: np.ndarray) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` over the last axis."""
    _logits(logits.shape)

    def fn(x: np.ndarray) -> np.ndarray:
        shifted, log_total = _shifted(x)
        return np.asarray(np.exp(shifted - log_total))

    return _apply(logits, fn)


@op("LogSoftmax", shape=_logits_shape)
def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``x - log(sum(exp(x)))`` over the last axis, computed without overflow."""
    _logits(logits.shape)

    def fn(x: np.ndarray) -> np.ndarray:
        shifted, log_total = _shifted(x)
        return np.asarray(shifted - log_total)

    return _apply(logits, fn)


def _xent(features: Shape, labels: Shape) -> tuple[int, ...]:
    """The [batch, classes] both inputs broadcast to."""
    try:
        shape = broadcast(features, labels)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            f"logits and labels must be broadcastable: logits_size={shape_str(features)} "
            f"labels_size={shape_str(labels)}"
        ) from None
    if shape is None:
        return (-1, -1)  # anything but rank 2 fails when it runs
    if len(shape) != 2:
        raise InvalidArgumentError(
            "logits and labels must be either 2-dimensional, or broadcasted to be "
            "2-dimensional"
        )
    return shape


def _xent_shape(features: TensorSpec, labels: TensorSpec) -> tuple[Shape, Shape]:
    shape = _xent(features.shape, labels.shape)
    return shape[:1], shape


@op("SoftmaxCrossEntropyWithLogits", shape=_xent_shape)
def softmax_cross_entropy_with_logits(
    features: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row loss ``sum(labels * -log_softmax(features))`` and ``softmax - labels``."""
    shape = _xent(features.shape, labels.shape)
    acc = FLOAT32 if features.dtype in HALVES else features.dtype
    x = np.broadcast_to(features.astype(acc), shape)
    y = np.broadcast_to(labels.astype(acc), shape)
    with np.errstate(all="ignore"):
        shifted, log_total = _shifted(x)
        loss = np.sum(y * (log_total - shifted), axis=-1)
        backprop = np.exp(shifted - log_total) - y
    return loss.astype(features.dtype), backprop.astype(features.dtype)


def _sparse_xent_shape(features: TensorSpec, labels: TensorSpec) -> tuple[Shape, Shape]:
    """Loss [batch] and backprop [batch, classes]; labels in [0, classes)."""
    if features.shape is not None and len(features.shape) != 2:
        raise InvalidArgumentError(
            f"logits must be 2-D, but got shape {shape_str(features.shape)}"
        )
    if labels.shape is not None and len(labels.shape) != 1:
        raise InvalidArgumentError(f"labels must be 1-D, but got shape {shape_str(labels.shape)}")
    batch, classes = features.shape or (-1, -1)
    rows = labels.shape[0] if labels.shape is not None else -1
    if batch >= 0 and rows >= 0 and batch != rows:
        raise InvalidArgumentError(
            "logits and labels must have the same first dimension, got logits shape "
            f"{shape_str(features.shape)} and labels shape {shape_str(labels.shape)}"
        )
    if classes == 0:
        raise InvalidArgumentError(
            f"Must have at least one class, but got logits shape {shape_str(features.shape)}"
        )
    values = None if labels.value is None else labels.value.tolist()
    if values and classes > 0 and (min(values) < 0 or max(values) >= classes):
        # TF reports the smallest label when one is negative, else the largest.
        bad = min(values) if min(values) < 0 else max(values)
        raise InvalidArgumentError(
            f"Received a label value of {bad} which is outside the valid range of "
            f"[0, {classes}).  Label values: {' '.join(map(str, values))}"
        )
    batch = batch if batch >= 0 else rows
    return (batch,), (batch, classes)


@op("SparseSoftmaxCrossEntropyWithLogits", shape=_sparse_xent_shape)
def sparse_softmax_cross_entropy_with_logits(
    features: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``-log_softmax(features)[label]`` and ``softmax - one_hot(label)``."""
    _sparse_xent_shape(_spec(features), _spec(labels))
    x = features.astype(FLOAT32 if features.dtype in HALVES else features.dtype)
    rows = np.arange(x.shape[0])
    with np.errstate(all="ignore"):
        shifted, log_total = _shifted(x)
        loss = log_total[:, 0] - shifted[rows, labels]
        backprop = np.exp(shifted - log_total)
        backprop[rows, labels] -= 1
    return loss.astype(features.dtype), backprop.astype(features.dtype)


def _scalar_shape(t: TensorSpec) -> Shape:
    return ()


@op("L2Loss", shape=_scalar_shape)
def l2_loss(t: np.ndarray) -> np.ndarray:
    """``sum(t ** 2) / 2`` over every element, as a scalar."""
    return _apply(t, lambda v: np.sum(np.square(v)) / 2)


def _in_top_k(predictions: Shape, targets: Shape, k: Shape) -> Shape:
    """InTopKV2: bool [batch] for predictions [batch, classes] and targets [batch]."""
    if k is not None and len(k) != 0:
        raise InvalidArgumentError(f"k must be 0-D, got shape {shape_str(k)}")
    if predictions is not None and len(predictions) != 2:
        raise InvalidArgumentError("predictions must be 2-dimensional")
    if targets is not None and len(targets) != 1:
        raise InvalidArgumentError("targets must be 1-dimensional")
    batch = (predictions or (-1,))[0]
    length = (targets or (-1,))[0]
    if batch >= 0 and length >= 0 and batch != length:
        raise InvalidArgumentError(
            f"First dimension of predictions {batch} must match length of targets {length}"
        )
    return merge("InTopKV2", (batch,), (length,), "batch size")


def _in_top_k_shape(predictions: TensorSpec, targets: TensorSpec, k: TensorSpec) -> Shape:
    return _in_top_k(predictions.shape, targets.shape, k.shape)


@op("InTopKV2", shape=_in_top_k_shape)
def in_top_k_v2(predictions: np.ndarray, targets: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Whether each target's prediction has fewer than k strictly larger ones in its row."""
    _in_top_k(predictions.shape, targets.shape, k.shape)
    batch, classes = predictions.shape
    if classes == 0:
        return np.zeros(batch, BOOL)
    valid = (targets >= 0) & (targets < classes)
    picked = predictions[np.arange(batch), np.where(valid, targets, 0)]
    finite = np.isfinite(predictions).all(axis=1)
    larger = np.count_nonzero(predictions > picked[:, None], axis=1)
    return np.asarray(valid & finite & (larger < int(k)))

