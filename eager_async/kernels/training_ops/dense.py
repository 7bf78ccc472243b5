"""The ResourceApply* ops: optimizer updates of whole resource variables by a dense
gradient, each computing every slot from the values it read and replacing them.

Where TF differs from the textbook:

- Adam takes ``beta1_power``/``beta2_power`` (beta^t) and folds both bias corrections
  into the step, ``lr_t = lr*sqrt(1-beta2^t)/(1-beta1^t)``, then divides by
  ``sqrt(v) + epsilon`` (epsilon outside the square root, unscaled); Nesterov Adam uses
  ``(1-beta1)*g + beta1*m`` for m. AdaMax divides by ``1-beta1^t`` and ``v + epsilon``.
- RMSProp puts epsilon *inside* the square root, ``sqrt(ms + epsilon)``, and its
  momentum accumulates ``lr*g/sqrt(...)``; Adagrad has no epsilon (V2 adds it outside).
- Momentum accumulates the gradient itself, ``accum = momentum*accum + g; var -=
  lr*accum`` (Nesterov: ``var -= lr*g + lr*momentum*accum``); KerasMomentum accumulates
  ``-lr*g`` and adds the accumulator.
- Adadelta's step is ``sqrt(accum_update+eps)/sqrt(accum+eps)*g``, scaled by ``lr``.
- Ftrl(V2) with ``lr_power == -0.5`` uses square roots, otherwise powers;
  ``multiply_linear_by_lr`` keeps ``linear`` scaled by ``lr``.
- Slots given the same variable: every slot is computed from the old value and the last
  slot's result is kept (TF copies a dense slot on its second use).
- The CPU kernel of ProximalAdagrad refuses a non-positive ``lr`` and negative
  ``l1``/``l2`` with "... is not a positive scalar"; the other ops take any values.

Where eager_async differs from TF: TF aborts the process when AdamWithAmsgrad's ``vhat``
has another shape than ``var``; here it is INVALID_ARGUMENT.

>>> from ..variables import Variable
>>> var = Variable(np.dtype(np.float32), (2,), "v", np.float32([1, 2]))
>>> handle = np.empty((), dtype=object); handle[()] = var
>>> resource_apply_gradient_descent(handle, np.float32(0.5), np.float32([2, 2]))
>>> var.value
array([0., 1.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from ._common import Array, Slots, proximal, rsqrt, update


@update("ResourceApplyGradientDescent", "alpha")
def resource_apply_gradient_descent(var: Array, alpha: Array, delta: Array) -> None:
    """var -= alpha * delta."""
    slots = Slots("ResourceApplyGradientDescent", delta.dtype, "var", var)
    (x,) = slots.dense(delta, "delta")
    slots.keep(x - delta * alpha)


@update("ResourceApplyProximalGradientDescent", "alpha", "l1", "l2")
def resource_apply_proximal_gradient_descent(
    var: Array, alpha: Array, l1: Array, l2: Array, delta: Array
) -> None:
    """Gradient descent, then the FOBOS proximal step with l1 and l2."""
    slots = Slots("ResourceApplyProximalGradientDescent", delta.dtype, "var", var)
    (x,) = slots.dense(delta, "delta")
    slots.keep(proximal(x - delta * alpha, alpha, l1, l2))


@update("ResourceApplyAdadelta", "lr", "rho", "epsilon")
def resource_apply_adadelta(var: Array, accum: Array, accum_update: Array, lr: Array,
                            rho: Array, epsilon: Array, grad: Array) -> None:  # fmt: skip
    """accum = rho*accum + (1-rho)*g²; step = sqrt(accum_update+eps)/sqrt(accum+eps)*g;
    var -= lr*step; accum_update = rho*accum_update + (1-rho)*step²."""
    slots = Slots("ResourceApplyAdadelta", grad.dtype, "var accum accum_update",
                   var, accum, accum_update)  # fmt: skip
    x, a, u = slots.dense(grad)
    a = a * rho + grad * grad * (1 - rho)
    step = np.sqrt(u + epsilon) * rsqrt(a + epsilon) * grad
    slots.keep(x - step * lr, a, u * rho + step * step * (1 - rho))


@update("ResourceApplyAdagrad", "lr")
def resource_apply_adagrad(var: Array, accum: Array, lr: Array, grad: Array, *,
                           update_slots: bool) -> None:  # fmt: skip
    """accum += g² (with update_slots); var -= lr*g/sqrt(accum)."""
    slots = Slots("ResourceApplyAdagrad", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a + grad * grad if update_slots else a
    slots.keep(x - grad * lr * rsqrt(a), a)


@update("ResourceApplyAdagradV2", "lr", "epsilon")
def resource_apply_adagrad_v2(var: Array, accum: Array, lr: Array, epsilon: Array,
                              grad: Array, *, update_slots: bool) -> None:  # fmt: skip
    """accum += g² (with update_slots); var -= lr*g/(sqrt(accum) + epsilon)."""
    slots = Slots("ResourceApplyAdagradV2", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a + grad * grad if update_slots else a
    slots.keep(x - grad * lr / (np.sqrt(a) + epsilon), a)


@update("ResourceApplyProximalAdagrad", "lr", "l1", "l2",
         limits={"lr": "positive", "l1": "non-negative", "l2": "non-negative"})
def resource_apply_proximal_adagrad(var: Array, accum: Array, lr: Array, l1: Array, l2: Array,
                                    grad: Array) -> None:  # fmt: skip
    """Adagrad's rate lr/sqrt(accum + g²), then the FOBOS proximal step."""
    slots = Slots("ResourceApplyProximalAdagrad", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a + grad * grad
    rate = lr * rsqrt(a)
    slots.keep(proximal(x - grad * rate, rate, l1, l2), a)


@update("ResourceApplyAdagradDA", "lr", "l1", "l2", "global_step")
def resource_apply_adagrad_da(
    var: Array, gradient_accumulator: Array, gradient_squared_accumulator: Array,
    grad: Array, lr: Array, l1: Array, l2: Array, global_step: Array,
) -> None:  # fmt: skip
    """Adagrad dual averaging: var is recomputed from the sums of g and g² at step t:
    -lr*sign(G)*max(|G| - t*l1, 0) / (t*l2*lr + sqrt(G2))."""
    slots = Slots("ResourceApplyAdagradDA", grad.dtype, "var accum accum",
                   var, gradient_accumulator, gradient_squared_accumulator)  # fmt: skip
    _, g1, g2 = slots.dense(grad)
    g1, g2 = g1 + grad, g2 + grad * grad
    t = grad.dtype.type(np.float32(global_step))
    denominator = l2 * (t * lr) + np.sqrt(g2)
    if l1 > 0:
        x = -lr * np.sign(g1) * np.maximum(np.abs(g1) - t * l1, 0) / denominator
    else:
        x = -(lr * g1) / denominator
    slots.keep(x, g1, g2)


def _ftrl(x: Array, accum: Array, linear: Array, grad: Array, lr: Array, l1: Array,
          l2: Array, shrinkage: Array | None, power: Array, by_lr: bool,
          ) -> tuple[Array, Array, Array]:  # fmt: skip
    """One FTRL-proximal step: the new var, accum and linear."""
    shrunk = grad if shrinkage is None else grad + 2 * shrinkage * x
    new_accum = accum + grad * grad

    def scale(a: Array) -> Array:
        return np.asarray(np.sqrt(a) if power == -0.5 else a ** (-power))

    if by_lr:
        linear = linear + shrunk * lr - (scale(new_accum) - scale(accum)) * x
        l1, quadratic = l1 * lr, scale(new_accum) + 2 * l2 * lr
    else:
        linear = linear + shrunk - (scale(new_accum) - scale(accum)) / lr * x
        quadratic = scale(new_accum) / lr + 2 * l2
    pre_shrink = (l1 * np.sign(linear) - linear) / quadratic
    return np.where(np.abs(linear) > l1, pre_shrink, x.dtype.type(0)), new_accum, linear


@update("ResourceApplyFtrl", "lr", "l1", "l2", "lr_power", sep={"lr_power": ""})
def resource_apply_ftrl(var: Array, accum: Array, linear: Array, grad: Array, lr: Array,
                        l1: Array, l2: Array, lr_power: Array, *,
                        multiply_linear_by_lr: bool) -> None:  # fmt: skip
    """FTRL-proximal with l1, l2 and a learning rate decaying as accum^lr_power."""
    slots = Slots("ResourceApplyFtrl", grad.dtype, "var accum linear", var, accum, linear)
    x, a, z = slots.dense(grad)
    slots.keep(*_ftrl(x, a, z, grad, lr, l1, l2, None, lr_power, multiply_linear_by_lr))


@update("ResourceApplyFtrlV2", "lr", "l1", "l2", "lr_power", "l2_shrinkage",
         sep={"lr_power": ""})
def resource_apply_ftrl_v2(var: Array, accum: Array, linear: Array, grad: Array, lr: Array,
                           l1: Array, l2: Array, l2_shrinkage: Array, lr_power: Array, *,
                           multiply_linear_by_lr: bool) -> None:  # fmt: skip
    """FTRL-proximal whose linear term sees g + 2*l2_shrinkage*var (accum sees g)."""
    slots = Slots("ResourceApplyFtrlV2", grad.dtype, "var accum linear", var, accum, linear)
    x, a, z = slots.dense(grad)
    slots.keep(*_ftrl(x, a, z, grad, lr, l1, l2, l2_shrinkage, lr_power,
                      multiply_linear_by_lr))  # fmt: skip


@update("ResourceApplyMomentum", "lr", "momentum")
def resource_apply_momentum(var: Array, accum: Array, lr: Array, grad: Array,
                            momentum: Array, *, use_nesterov: bool) -> None:  # fmt: skip
    """accum = momentum*accum + g; var -= lr*accum (Nesterov: lr*g + lr*momentum*accum)."""
    slots = Slots("ResourceApplyMomentum", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a * momentum + grad
    slots.keep(x - (grad * lr + a * momentum * lr if use_nesterov else a * lr), a)


@update("ResourceApplyKerasMomentum", "lr", "momentum")
def resource_apply_keras_momentum(var: Array, accum: Array, lr: Array, grad: Array,
                                  momentum: Array, *, use_nesterov: bool) -> None:  # fmt: skip
    """accum = momentum*accum - lr*g; var += accum (Nesterov: momentum*accum - lr*g)."""
    slots = Slots("ResourceApplyKerasMomentum", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a * momentum - grad * lr
    slots.keep(x + (a * momentum - grad * lr if use_nesterov else a), a)


def _adam_moments(m: Array, v: Array, grad: Array, beta1: Array, beta2: Array
                  ) -> tuple[Array, Array]:  # fmt: skip
    return m + (grad - m) * (1 - beta1), v + (grad * grad - v) * (1 - beta2)


@update("ResourceApplyAdam", "beta1_power", "beta2_power", "lr", "beta1", "beta2",
         "epsilon", sep={"lr": " : "})
def resource_apply_adam(
    var: Array, m: Array, v: Array, beta1_power: Array, beta2_power: Array, lr: Array,
    beta1: Array, beta2: Array, epsilon: Array, grad: Array, *, use_nesterov: bool,
) -> None:  # fmt: skip
    """Adam: var -= lr_t*m/(sqrt(v) + epsilon), lr_t = lr*sqrt(1-beta2^t)/(1-beta1^t)."""
    slots = Slots("ResourceApplyAdam", grad.dtype, "var m v", var, m, v)
    x, m, v = slots.dense(grad)
    rate = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m, v = _adam_moments(m, v, grad, beta1, beta2)
    step = grad * (1 - beta1) + beta1 * m if use_nesterov else m
    slots.keep(x - step * rate / (np.sqrt(v) + epsilon), m, v)


@update("ResourceApplyAdamWithAmsgrad", "beta1_power", "beta2_power", "lr", "beta1", "beta2",
         "epsilon", sep={"lr": " : "})
def resource_apply_adam_with_amsgrad(
    var: Array, m: Array, v: Array, vhat: Array, beta1_power: Array, beta2_power: Array,
    lr: Array, beta1: Array, beta2: Array, epsilon: Array, grad: Array,
) -> None:  # fmt: skip
    """Adam dividing by the largest v seen, vhat = max(vhat, v)."""
    slots = Slots("ResourceApplyAdamWithAmsgrad", grad.dtype, "var m v vhat", var, m, v, vhat)
    x, m, v, vhat = slots.dense(grad)
    rate = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m, v = _adam_moments(m, v, grad, beta1, beta2)
    vhat = np.where(vhat < v, v, vhat)
    slots.keep(x - m * rate / (np.sqrt(vhat) + epsilon), m, v, vhat)


@update("ResourceApplyAdaMax", "beta1_power", "lr", "beta1", "beta2", "epsilon",
         sep={"lr": " : "})
def resource_apply_ada_max(
    var: Array, m: Array, v: Array, beta1_power: Array, lr: Array, beta1: Array,
    beta2: Array, epsilon: Array, grad: Array,
) -> None:  # fmt: skip
    """AdaMax: v = max(beta2*v, |g|); var -= lr/(1-beta1^t) * m/(v + epsilon)."""
    slots = Slots("ResourceApplyAdaMax", grad.dtype, "var m v", var, m, v)
    x, m, v = slots.dense(grad)
    m = m + (grad - m) * (1 - beta1)
    v = np.maximum(beta2 * v, np.abs(grad))
    slots.keep(x - lr / (1 - beta1_power) * (m / (v + epsilon)), m, v)


@update("ResourceApplyRMSProp", "lr", "rho", "momentum", "epsilon", sep={"lr": " : "})
def resource_apply_rms_prop(var: Array, ms: Array, mom: Array, lr: Array, rho: Array,
                            momentum: Array, epsilon: Array, grad: Array) -> None:  # fmt: skip
    """ms += (1-rho)*(g² - ms); mom = momentum*mom + lr*g/sqrt(ms + epsilon); var -= mom."""
    slots = Slots("ResourceApplyRMSProp", grad.dtype, "var ms mom", var, ms, mom)
    x, ms, mom = slots.dense(grad)
    ms = ms + (grad * grad - ms) * (1 - rho)
    mom = mom * momentum + grad * lr / np.sqrt(ms + epsilon)
    slots.keep(x - mom, ms, mom)


@update("ResourceApplyCenteredRMSProp", "lr", "rho", "momentum", "epsilon",
         sep={"lr": " : "})
def resource_apply_centered_rms_prop(
    var: Array, mg: Array, ms: Array, mom: Array, lr: Array, rho: Array, momentum: Array,
    epsilon: Array, grad: Array,
) -> None:  # fmt: skip
    """RMSProp of the centred second moment: sqrt(ms - mg² + epsilon)."""
    slots = Slots("ResourceApplyCenteredRMSProp", grad.dtype, "var mg ms mom",
                   var, mg, ms, mom)  # fmt: skip
    x, mg, ms, mom = slots.dense(grad)
    ms = ms + (grad * grad - ms) * (1 - rho)
    mg = mg + (grad - mg) * (1 - rho)
    mom = mom * momentum + grad * lr / np.sqrt(ms - mg * mg + epsilon)
    slots.keep(x - mom, mg, ms, mom)


def _sign_agreement(m: Array, grad: Array, beta: Array) -> tuple[Array, Array]:
    """The new m = beta*m + (1-beta)*g, and sign(g)*sign(m)."""
    m = m * beta + grad * (1 - beta)
    return m, np.sign(grad) * np.sign(m)


@update("ResourceApplyAddSign", "lr", "alpha", "sign_decay", "beta")
def resource_apply_add_sign(var: Array, m: Array, lr: Array, alpha: Array, sign_decay: Array,
                            beta: Array, grad: Array) -> None:  # fmt: skip
    """var -= lr*(alpha + sign_decay*sign(g)*sign(m))*g."""
    slots = Slots("ResourceApplyAddSign", grad.dtype, "var m", var, m)
    x, m = slots.dense(grad)
    m, agree = _sign_agreement(m, grad, beta)
    slots.keep(x - lr * (alpha + sign_decay * agree) * grad, m)


@update("ResourceApplyPowerSign", "lr", "logbase", "sign_decay", "beta")
def resource_apply_power_sign(var: Array, m: Array, lr: Array, logbase: Array,
                              sign_decay: Array, beta: Array, grad: Array) -> None:  # fmt: skip
    """var -= lr*exp(logbase*sign_decay*sign(g)*sign(m))*g."""
    slots = Slots("ResourceApplyPowerSign", grad.dtype, "var m", var, m)
    x, m = slots.dense(grad)
    m, agree = _sign_agreement(m, grad, beta)
    slots.keep(x - lr * np.exp(logbase * sign_decay * agree) * grad, m)
