"""The ResourceSparseApply* ops: the dense updates' math (see ``dense``) applied to the
rows ``indices`` of a resource variable, one row of ``grad`` each.

Where TF differs from the textbook:

- A sparse update applies duplicate indices one after another. Adagrad, AdagradV2,
  Adadelta, RMSProp and CenteredRMSProp check every index first; the others check each
  index as they reach it, so the rows before a bad index stay updated.
- Slots given the same variable: the rows are updated in place, slot after slot, each
  seeing the writes of the slots before it (TF does not copy a sparse slot).
- The CPU kernels of ProximalAdagrad and of Ftrl(V2) refuse a non-positive ``lr`` and
  negative ``l1``/``l2`` (and a positive ``lr_power``) with "... is not a positive
  scalar"; the other ops take any values.

Where eager_async differs from TF: TF aborts the process when ``grad`` has more dims than
``var``; here it is INVALID_ARGUMENT.

>>> from ..variables import Variable
>>> var = Variable(np.dtype(np.float32), (3,), "v", np.float32([1, 2, 3]))
>>> handle = np.empty((), dtype=object); handle[()] = var
>>> resource_sparse_apply_proximal_gradient_descent(handle, np.float32(1), np.float32(0),
...     np.float32(0), np.float32([1, 1]), np.int32([0, 0]))
>>> var.value
array([-1.,  2.,  3.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from ._common import Array, Slots, proximal, rsqrt, update


@update("ResourceSparseApplyProximalGradientDescent", "alpha", "l1", "l2", sparse=True)
def resource_sparse_apply_proximal_gradient_descent(
    var: Array, alpha: Array, l1: Array, l2: Array, grad: Array, indices: Array
) -> None:  # fmt: skip
    """ProximalGradientDescent on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyProximalGradientDescent", grad.dtype, "var", var)
    (x,) = slots.rows(grad, indices, check_first=False, inner=True)
    for r, g in slots.batches:
        x[r] = proximal(x[r] - g * alpha, alpha, l1, l2)
    slots.finish()


@update("ResourceSparseApplyAdadelta", "lr", "rho", "epsilon", sparse=True)
def resource_sparse_apply_adadelta(
    var: Array, accum: Array, accum_update: Array, lr: Array, rho: Array, epsilon: Array,
    grad: Array, indices: Array,
) -> None:  # fmt: skip
    """Adadelta on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyAdadelta", grad.dtype, "var accum_grad accum_update",
                   var, accum, accum_update)  # fmt: skip
    x, a, u = slots.rows(grad, indices, check_first=True)
    for r, g in slots.batches:
        a[r] = a[r] * rho + g * g * (1 - rho)
        x[r] -= np.sqrt(u[r] + epsilon) * rsqrt(a[r] + epsilon) * g * lr
        step = np.sqrt(u[r] + epsilon) * rsqrt(a[r] + epsilon) * g  # again: u may be x
        u[r] = u[r] * rho + step * step * (1 - rho)
    slots.finish()


@update("ResourceSparseApplyAdagrad", "lr", sparse=True)
def resource_sparse_apply_adagrad(var: Array, accum: Array, lr: Array, grad: Array,
                                  indices: Array, *, update_slots: bool) -> None:  # fmt: skip
    """Adagrad on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyAdagrad", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=True, inner=True)
    for r, g in slots.batches:
        if update_slots:
            a[r] += g * g
        x[r] -= lr * g * rsqrt(a[r])
    slots.finish()


@update("ResourceSparseApplyAdagradV2", "lr", "epsilon", sparse=True)
def resource_sparse_apply_adagrad_v2(var: Array, accum: Array, lr: Array, epsilon: Array,
                                     grad: Array, indices: Array, *,
                                     update_slots: bool) -> None:  # fmt: skip
    """AdagradV2 on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyAdagradV2", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=True, inner=True)
    for r, g in slots.batches:
        if update_slots:
            a[r] += g * g
        x[r] -= lr * g / (np.sqrt(a[r]) + epsilon)
    slots.finish()


@update("ResourceSparseApplyProximalAdagrad", "lr", "l1", "l2", sparse=True,
         limits={"lr": "positive", "l1": "non-negative", "l2": "non-negative"})
def resource_sparse_apply_proximal_adagrad(
    var: Array, accum: Array, lr: Array, l1: Array, l2: Array, grad: Array, indices: Array
) -> None:  # fmt: skip
    """ProximalAdagrad on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyProximalAdagrad", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=False, inner=True)
    for r, g in slots.batches:
        a[r] += g * g
        x[r] -= g * lr * rsqrt(a[r])
        x[r] = proximal(x[r], lr * rsqrt(a[r]), l1, l2)  # the rate again: a may be x
    slots.finish()


@update("ResourceSparseApplyAdagradDA", "lr", "l1", "l2", "global_step", sparse=True)
def resource_sparse_apply_adagrad_da(
    var: Array, gradient_accumulator: Array, gradient_squared_accumulator: Array,
    grad: Array, indices: Array, lr: Array, l1: Array, l2: Array, global_step: Array,
) -> None:  # fmt: skip
    """AdagradDA on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyAdagradDA", grad.dtype, "var accum accum",
                   var, gradient_accumulator, gradient_squared_accumulator)  # fmt: skip
    x, g1, g2 = slots.rows(grad, indices, check_first=False, inner=True)
    t = grad.dtype.type(global_step)
    rate = grad.dtype.type(float(t * lr))  # TF rounds t*lr through a double
    for r, g in slots.batches:
        g1[r] += g
        g2[r] += g * g
        denominator = l2 + np.sqrt(g2[r]) / rate
        if l1 > 0:
            x[r] = -np.sign(g1[r]) * np.maximum(np.abs(g1[r]) / t - l1, 0) / denominator
        else:
            x[r] = -(g1[r] / t) / denominator
    slots.finish()


def _sparse_ftrl(op_name: str, var: Array, accum: Array, linear: Array, grad: Array,
                 indices: Array, lr: Array, l1: Array, l2: Array, shrinkage: Array | None,
                 power: Array, by_lr: bool) -> None:  # fmt: skip
    """FTRL on rows, statement by statement as TF's loop (which reads the slots anew in
    each, so slots sharing a variable see each other's writes)."""
    slots = Slots(op_name, grad.dtype, "var accum linear", var, accum, linear)
    x, a, z = slots.rows(grad, indices, check_first=False, inner=True)
    limit = l1 * lr if by_lr else l1

    def scale(t: Array) -> Array:
        return np.asarray(np.sqrt(t) if power == -0.5 else t ** (-power))

    for r, g in slots.batches:
        shrunk = g if shrinkage is None else g + 2 * shrinkage * x[r]
        change = scale(a[r] + g * g) - scale(a[r])
        z[r] += shrunk * lr - change * x[r] if by_lr else shrunk - change / lr * x[r]
        grown = scale(a[r] + g * g)
        quadratic = grown + 2 * l2 * lr if by_lr else grown / lr + 2 * l2
        x[r] = (np.clip(z[r], -limit, limit) - z[r]) / quadratic
        a[r] += g * g
    slots.finish()


_FTRL_LIMITS = {"lr": "positive", "l1": "non-negative", "l2": "non-negative",
                "lr_power": "non-positive"}  # fmt: skip


@update("ResourceSparseApplyFtrl", "lr", "l1", "l2", "lr_power", sparse=True,
         limits=_FTRL_LIMITS)
def resource_sparse_apply_ftrl(var: Array, accum: Array, linear: Array, grad: Array,
                               indices: Array, lr: Array, l1: Array, l2: Array,
                               lr_power: Array, *,
                               multiply_linear_by_lr: bool) -> None:  # fmt: skip
    """Ftrl on the rows ``indices``."""
    _sparse_ftrl("ResourceSparseApplyFtrl", var, accum, linear, grad, indices, lr, l1, l2,
                 None, lr_power, multiply_linear_by_lr)  # fmt: skip


@update("ResourceSparseApplyFtrlV2", "lr", "l1", "l2", "l2_shrinkage", "lr_power",
         sparse=True, limits={**_FTRL_LIMITS, "l2_shrinkage": "non-negative"})
def resource_sparse_apply_ftrl_v2(
    var: Array, accum: Array, linear: Array, grad: Array, indices: Array, lr: Array,
    l1: Array, l2: Array, l2_shrinkage: Array, lr_power: Array, *,
    multiply_linear_by_lr: bool,
) -> None:  # fmt: skip
    """FtrlV2 on the rows ``indices``."""
    _sparse_ftrl("ResourceSparseApplyFtrlV2", var, accum, linear, grad, indices, lr, l1, l2,
                 l2_shrinkage, lr_power, multiply_linear_by_lr)  # fmt: skip


@update("ResourceSparseApplyMomentum", "lr", "momentum", sparse=True, sep={"lr": " : "})
def resource_sparse_apply_momentum(var: Array, accum: Array, lr: Array, grad: Array,
                                   indices: Array, momentum: Array, *,
                                   use_nesterov: bool) -> None:  # fmt: skip
    """Momentum on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyMomentum", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=False)
    for r, g in slots.batches:
        a[r] = a[r] * momentum + g
        x[r] -= lr * g + lr * momentum * a[r] if use_nesterov else lr * a[r]
    slots.finish()


@update("ResourceSparseApplyKerasMomentum", "lr", "momentum", sparse=True,
         sep={"lr": " : "})
def resource_sparse_apply_keras_momentum(var: Array, accum: Array, lr: Array, grad: Array,
                                         indices: Array, momentum: Array, *,
                                         use_nesterov: bool) -> None:  # fmt: skip
    """KerasMomentum on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyKerasMomentum", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=False, keras=True)
    for r, g in slots.batches:
        a[r] = a[r] * momentum - g * lr
        x[r] += a[r] * momentum - g * lr if use_nesterov else a[r]
    slots.finish()


@update("ResourceSparseApplyRMSProp", "lr", "rho", "momentum", "epsilon", sparse=True)
def resource_sparse_apply_rms_prop(
    var: Array, ms: Array, mom: Array, lr: Array, rho: Array, momentum: Array,
    epsilon: Array, grad: Array, indices: Array,
) -> None:  # fmt: skip
    """RMSProp on the rows ``indices`` (ms = rho*ms + (1-rho)*g², the same in other
    words)."""
    slots = Slots("ResourceSparseApplyRMSProp", grad.dtype, "var ms mom", var, ms, mom)
    x, s, p = slots.rows(grad, indices, check_first=True)
    for r, g in slots.batches:
        s[r] = s[r] * rho + g * g * (1 - rho)
        p[r] = p[r] * momentum + rsqrt(s[r] + epsilon) * lr * g
        x[r] -= p[r]
    slots.finish()


@update("ResourceSparseApplyCenteredRMSProp", "lr", "rho", "momentum", "epsilon",
         sparse=True)
def resource_sparse_apply_centered_rms_prop(
    var: Array, mg: Array, ms: Array, mom: Array, lr: Array, rho: Array, momentum: Array,
    epsilon: Array, grad: Array, indices: Array,
) -> None:  # fmt: skip
    """CenteredRMSProp on the rows ``indices``."""
    slots = Slots("ResourceSparseApplyCenteredRMSProp", grad.dtype, "var mg ms mom",
                   var, mg, ms, mom)  # fmt: skip
    x, c, s, p = slots.rows(grad, indices, check_first=True)
    for r, g in slots.batches:
        s[r] = s[r] * rho + g * g * (1 - rho)
        c[r] = c[r] * rho + g * (1 - rho)
        p[r] = p[r] * momentum + rsqrt(s[r] + epsilon - c[r] * c[r]) * lr * g
        x[r] -= p[r]
    slots.finish()
