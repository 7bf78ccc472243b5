"""Optimizer updates of resource variables: the ResourceApply* ops (dense gradients) and
the ResourceSparseApply* ops (rows ``indices`` of the variable), as TF 2.21 computes them.

Each update reads its variables, computes the new values in the variables' dtype (half
and bfloat16 round after every step, as Eigen does) and replaces the values
(copy-on-write: a value read earlier never changes under its reader). ``use_locking`` is
accepted and ignored.

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
- A sparse update applies duplicate indices one after another. Adagrad, AdagradV2,
  Adadelta, RMSProp and CenteredRMSProp check every index first; the others check each
  index as they reach it, so the rows before a bad index stay updated.
- An uninitialised variable reads as an empty vector, so updating one fails on shapes
  with INVALID_ARGUMENT ("var and grad do not have the same shape[0] [2]"), not
  FAILED_PRECONDITION; with empty gradients it is a no-op and the variable stays
  uninitialised.
- Slots given the same variable: a dense update computes every slot from the old value
  and keeps the last slot's result; a sparse update updates the rows in place, slot
  after slot (TF copies a dense slot on its second use, not a sparse one).
- The CPU kernels of ProximalAdagrad and of sparse Ftrl refuse a non-positive ``lr`` and
  negative ``l1``/``l2`` (and a positive ``lr_power``) with "... is not a positive
  scalar"; the other ops take any values.

Where eager_async differs from TF: TF aborts the process when ``T`` is not the
variable's dtype, when AdamWithAmsgrad's ``vhat`` has another shape than ``var``, or when
a sparse ``grad`` has more dims than ``var``; here each is INVALID_ARGUMENT.

>>> from .variables import Variable
>>> var = Variable(np.dtype(np.float32), (2,), "v", np.float32([1, 2]))
>>> handle = np.empty((), dtype=object); handle[()] = var
>>> resource_apply_gradient_descent(handle, np.float32(0.5), np.float32([2, 2]))
>>> var.value
array([0., 1.], dtype=float32)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import FLOAT32, HALVES, shape_str, tf_name
from .contract import lookup_def
from .registry import op
from .resource_scatter import current, keep, rounds, variable_of

__all__ = [
    "resource_apply_ada_max",
    "resource_apply_adadelta",
    "resource_apply_adagrad",
    "resource_apply_adagrad_da",
    "resource_apply_adagrad_v2",
    "resource_apply_adam",
    "resource_apply_adam_with_amsgrad",
    "resource_apply_add_sign",
    "resource_apply_centered_rms_prop",
    "resource_apply_ftrl",
    "resource_apply_ftrl_v2",
    "resource_apply_gradient_descent",
    "resource_apply_keras_momentum",
    "resource_apply_momentum",
    "resource_apply_power_sign",
    "resource_apply_proximal_adagrad",
    "resource_apply_proximal_gradient_descent",
    "resource_apply_rms_prop",
    "resource_sparse_apply_adadelta",
    "resource_sparse_apply_adagrad",
    "resource_sparse_apply_adagrad_da",
    "resource_sparse_apply_adagrad_v2",
    "resource_sparse_apply_centered_rms_prop",
    "resource_sparse_apply_ftrl",
    "resource_sparse_apply_ftrl_v2",
    "resource_sparse_apply_keras_momentum",
    "resource_sparse_apply_momentum",
    "resource_sparse_apply_proximal_adagrad",
    "resource_sparse_apply_proximal_gradient_descent",
    "resource_sparse_apply_rms_prop",
]

Array = np.ndarray
F = TypeVar("F", bound=Callable[..., None])

# TF's words for the hyperparameters in its "... is not a scalar" messages.
_WHAT = {"l1": "l1 regularization strength", "l2": "l2 regularization strength",
         "l2_shrinkage": "l2 shrinkage regularization strength"}  # fmt: skip
# The CPU kernels that check values say which: "lr is not a positive scalar: []".
_LIMITS: dict[str, tuple[str, Callable[[Array], Any]]] = {
    "positive": ("positive ", lambda x: x > 0),
    "non-negative": ("non-negative ", lambda x: x >= 0),
    "non-positive": ("non-positive ", lambda x: x <= 0),
}


def _update(
    name: str, *scalars: str, sparse: bool = False, sep: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
) -> Callable[[F], F]:  # fmt: skip
    """Register an update under TF op ``name``, with the checks TF's kernel makes without
    the variables: ``scalars`` must be scalars ("lr is not a scalar: [1]"; ``sep`` holds
    the inputs TF writes another separator for), and a sparse update's indices a vector
    as long as grad. The shape rule makes these checks; the kernel makes them first,
    then checks the values ``limits`` names ("lr is not a positive scalar: []")."""
    names = [arg.name for arg in lookup_def(name).inputs]
    seps = {s: (sep or {}).get(s, ": ") for s in scalars}
    kinds = dict(limits or {})

    def static(inputs: Sequence[Any]) -> None:
        given = dict(zip(names, inputs, strict=True))
        for scalar in scalars:
            shape = given[scalar].shape
            if shape is not None and len(shape) != 0:
                kind = _LIMITS[kinds[scalar]][0] if scalar in kinds else ""
                raise InvalidArgumentError(
                    f"{_WHAT.get(scalar, scalar)} is not a {kind}scalar{seps[scalar]}"
                    f"{shape_str(shape)}"
                )
        if sparse:
            indices, grad = given["indices"].shape, given["grad"].shape
            if indices is not None and len(indices) != 1:
                raise InvalidArgumentError("indices must be one-dimensional")
            rows = -1 if indices is None else indices[0]  # -1: not known yet
            if grad == () or (grad and min(grad[0], rows) >= 0 and grad[0] != rows):
                raise InvalidArgumentError(
                    "grad must be the same size as indices in the first dimension."
                )

    def rule(*specs: Any) -> None:
        static(specs)

    def register(kernel: F) -> F:
        @functools.wraps(kernel)
        def checked(*inputs: Array, **attrs: Any) -> None:
            static(inputs)
            given = dict(zip(names, inputs, strict=True))
            for scalar, kind in kinds.items():
                words, holds = _LIMITS[kind]
                if not holds(given[scalar]):
                    raise InvalidArgumentError(
                        f"{_WHAT.get(scalar, scalar)} is not a {words}scalar: []"
                    )
            with np.errstate(all="ignore"):  # NaN and inf come out as in TF, silently
                kernel(*inputs, **attrs)

        op(name, shape=rule)(checked)
        return cast(F, checked)

    return register


def _rsqrt(x: Array) -> Array:
    """1/sqrt(x) rounded once, as Eigen's rsqrt of half and bfloat16."""
    if x.dtype in HALVES:
        return np.asarray(1 / np.sqrt(x.astype(FLOAT32))).astype(x.dtype)
    return np.asarray(1 / np.sqrt(x))


class _Slots:
    """The variables one update reads and writes (``var`` first, named as TF names them
    in its messages), as TF's kernels see them."""

    def __init__(self, op_name: str, dtype: np.dtype, names: str, *handles: Array) -> None:
        self.names = names.split()
        self.variables = [variable_of(op_name, handle, name)
                          for name, handle in zip(self.names, handles, strict=True)]  # fmt: skip
        for name, variable in zip(self.names, self.variables, strict=True):
            if variable.dtype != dtype:
                raise InvalidArgumentError(
                    f"{op_name}: {name} is a {tf_name(variable.dtype)} variable but T is "
                    f"{tf_name(dtype)}; the hyperparameters and gradient must have the "
                    "variable's dtype"
                )
        self.values = [current(variable) for variable in self.variables]
        self.work: list[Array] = []
        self.batches: list[tuple[Array, Array]] = []
        self._error: InvalidArgumentError | None = None

    def _like_var(self, more: Sequence[tuple[str, Array]] = ()) -> None:
        var = self.values[0]
        for name, value in [*zip(self.names[1:], self.values[1:], strict=True), *more]:
            if value.shape != var.shape:
                raise InvalidArgumentError(
                    f"var and {name} do not have the same shape{shape_str(var.shape)} "
                    f"{shape_str(value.shape)}"
                )

    def dense(self, grad: Array, grad_name: str = "grad") -> list[Array]:
        """The current values, once every slot and the gradient have var's shape."""
        self._like_var([(grad_name, grad)])
        return self.values

    def keep(self, *values: Array) -> None:
        """Replace the values, slot by slot: of slots sharing a variable the last stays."""
        for variable, value in zip(self.variables, values, strict=True):
            keep(variable, np.asarray(value, dtype=variable.dtype))

    def rows(self, grad: Array, indices: Array, *, check_first: bool,
             inner: bool = False, keras: bool = False) -> list[Array]:  # fmt: skip
        """Working copies of the values (one per variable: slots sharing one share it),
        once shapes and indices are checked. ``batches`` then holds (var rows, grad rows)
        to apply in turn; ``finish`` keeps the copies and raises a pending index error."""
        self._like_var()
        var = self.values[0]
        if var.ndim == 0:
            raise InvalidArgumentError("var must be at least 1 dimensional")
        for d in range(1, max(var.ndim, grad.ndim)):
            if d >= min(var.ndim, grad.ndim) or var.shape[d] != grad.shape[d]:
                raise InvalidArgumentError(f"var and grad must match in dimension {d}")
        if inner and math.prod(var.shape[1:]) == 0:
            raise InvalidArgumentError("Inner dimension should be greater than zero.")
        flat = indices.astype(np.int64)
        bad = np.flatnonzero((flat < 0) | (flat >= var.shape[0]))
        if bad.size:
            at = int(bad[0])
            self._error = InvalidArgumentError(
                f"indices[{at}] = {flat[at]} is not in [0, {var.shape[0]})" if keras else
                f"Index {flat[at]} at offset {at} in indices is out of range"
            )  # fmt: skip
            if check_first:
                raise self._error
            flat = flat[:at]
        copies: dict[int, Array] = {}
        for variable, value in zip(self.variables, self.values, strict=True):
            if id(variable) not in copies:
                copies[id(variable)] = value.copy()
        self.work = [copies[id(variable)] for variable in self.variables]
        self.batches = [(flat[chosen], grad[chosen]) for chosen in rounds(flat)]
        return self.work

    def finish(self) -> None:
        """Keep the working copies; then fail on the index the update stopped at."""
        for variable, value in zip(self.variables, self.work, strict=True):
            keep(variable, value)
        if self._error is not None:
            raise self._error


# --- Dense updates -----------------------------------------------------------------------


@_update("ResourceApplyGradientDescent", "alpha")
def resource_apply_gradient_descent(var: Array, alpha: Array, delta: Array) -> None:
    """var -= alpha * delta."""
    slots = _Slots("ResourceApplyGradientDescent", delta.dtype, "var", var)
    (x,) = slots.dense(delta, "delta")
    slots.keep(x - delta * alpha)


def _proximal(prox: Array, rate: Array, l1: Array, l2: Array) -> Array:
    """FOBOS: soft-threshold ``prox`` by rate*l1 (when l1 > 0), shrink by 1 + l2*rate."""
    if l1 > 0:
        return np.asarray(np.sign(prox) * np.maximum(np.abs(prox) - rate * l1, 0) / (1 + l2 * rate))
    return np.asarray(prox / (1 + l2 * rate))


@_update("ResourceApplyProximalGradientDescent", "alpha", "l1", "l2")
def resource_apply_proximal_gradient_descent(
    var: Array, alpha: Array, l1: Array, l2: Array, delta: Array
) -> None:
    """Gradient descent, then the FOBOS proximal step with l1 and l2."""
    slots = _Slots("ResourceApplyProximalGradientDescent", delta.dtype, "var", var)
    (x,) = slots.dense(delta, "delta")
    slots.keep(_proximal(x - delta * alpha, alpha, l1, l2))


@_update("ResourceApplyAdadelta", "lr", "rho", "epsilon")
def resource_apply_adadelta(var: Array, accum: Array, accum_update: Array, lr: Array,
                            rho: Array, epsilon: Array, grad: Array) -> None:  # fmt: skip
    """accum = rho*accum + (1-rho)*g²; step = sqrt(accum_update+eps)/sqrt(accum+eps)*g;
    var -= lr*step; accum_update = rho*accum_update + (1-rho)*step²."""
    slots = _Slots("ResourceApplyAdadelta", grad.dtype, "var accum accum_update",
                   var, accum, accum_update)  # fmt: skip
    x, a, u = slots.dense(grad)
    a = a * rho + grad * grad * (1 - rho)
    step = np.sqrt(u + epsilon) * _rsqrt(a + epsilon) * grad
    slots.keep(x - step * lr, a, u * rho + step * step * (1 - rho))


@_update("ResourceApplyAdagrad", "lr")
def resource_apply_adagrad(var: Array, accum: Array, lr: Array, grad: Array, *,
                           update_slots: bool) -> None:  # fmt: skip
    """accum += g² (with update_slots); var -= lr*g/sqrt(accum)."""
    slots = _Slots("ResourceApplyAdagrad", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a + grad * grad if update_slots else a
    slots.keep(x - grad * lr * _rsqrt(a), a)


@_update("ResourceApplyAdagradV2", "lr", "epsilon")
def resource_apply_adagrad_v2(var: Array, accum: Array, lr: Array, epsilon: Array,
                              grad: Array, *, update_slots: bool) -> None:  # fmt: skip
    """accum += g² (with update_slots); var -= lr*g/(sqrt(accum) + epsilon)."""
    slots = _Slots("ResourceApplyAdagradV2", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a + grad * grad if update_slots else a
    slots.keep(x - grad * lr / (np.sqrt(a) + epsilon), a)


@_update("ResourceApplyProximalAdagrad", "lr", "l1", "l2",
         limits={"lr": "positive", "l1": "non-negative", "l2": "non-negative"})
def resource_apply_proximal_adagrad(var: Array, accum: Array, lr: Array, l1: Array, l2: Array,
                                    grad: Array) -> None:  # fmt: skip
    """Adagrad's rate lr/sqrt(accum + g²), then the FOBOS proximal step."""
    slots = _Slots("ResourceApplyProximalAdagrad", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a + grad * grad
    rate = lr * _rsqrt(a)
    slots.keep(_proximal(x - grad * rate, rate, l1, l2), a)


@_update("ResourceApplyAdagradDA", "lr", "l1", "l2", "global_step")
def resource_apply_adagrad_da(
    var: Array, gradient_accumulator: Array, gradient_squared_accumulator: Array,
    grad: Array, lr: Array, l1: Array, l2: Array, global_step: Array,
) -> None:  # fmt: skip
    """Adagrad dual averaging: var is recomputed from the sums of g and g² at step t:
    -lr*sign(G)*max(|G| - t*l1, 0) / (t*l2*lr + sqrt(G2))."""
    slots = _Slots("ResourceApplyAdagradDA", grad.dtype, "var accum accum",
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


@_update("ResourceApplyFtrl", "lr", "l1", "l2", "lr_power", sep={"lr_power": ""})
def resource_apply_ftrl(var: Array, accum: Array, linear: Array, grad: Array, lr: Array,
                        l1: Array, l2: Array, lr_power: Array, *,
                        multiply_linear_by_lr: bool) -> None:  # fmt: skip
    """FTRL-proximal with l1, l2 and a learning rate decaying as accum^lr_power."""
    slots = _Slots("ResourceApplyFtrl", grad.dtype, "var accum linear", var, accum, linear)
    x, a, z = slots.dense(grad)
    slots.keep(*_ftrl(x, a, z, grad, lr, l1, l2, None, lr_power, multiply_linear_by_lr))


@_update("ResourceApplyFtrlV2", "lr", "l1", "l2", "lr_power", "l2_shrinkage",
         sep={"lr_power": ""})
def resource_apply_ftrl_v2(var: Array, accum: Array, linear: Array, grad: Array, lr: Array,
                           l1: Array, l2: Array, l2_shrinkage: Array, lr_power: Array, *,
                           multiply_linear_by_lr: bool) -> None:  # fmt: skip
    """FTRL-proximal whose linear term sees g + 2*l2_shrinkage*var (accum sees g)."""
    slots = _Slots("ResourceApplyFtrlV2", grad.dtype, "var accum linear", var, accum, linear)
    x, a, z = slots.dense(grad)
    slots.keep(*_ftrl(x, a, z, grad, lr, l1, l2, l2_shrinkage, lr_power,
                      multiply_linear_by_lr))  # fmt: skip


@_update("ResourceApplyMomentum", "lr", "momentum")
def resource_apply_momentum(var: Array, accum: Array, lr: Array, grad: Array,
                            momentum: Array, *, use_nesterov: bool) -> None:  # fmt: skip
    """accum = momentum*accum + g; var -= lr*accum (Nesterov: lr*g + lr*momentum*accum)."""
    slots = _Slots("ResourceApplyMomentum", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a * momentum + grad
    slots.keep(x - (grad * lr + a * momentum * lr if use_nesterov else a * lr), a)


@_update("ResourceApplyKerasMomentum", "lr", "momentum")
def resource_apply_keras_momentum(var: Array, accum: Array, lr: Array, grad: Array,
                                  momentum: Array, *, use_nesterov: bool) -> None:  # fmt: skip
    """accum = momentum*accum - lr*g; var += accum (Nesterov: momentum*accum - lr*g)."""
    slots = _Slots("ResourceApplyKerasMomentum", grad.dtype, "var accum", var, accum)
    x, a = slots.dense(grad)
    a = a * momentum - grad * lr
    slots.keep(x + (a * momentum - grad * lr if use_nesterov else a), a)


def _adam_moments(m: Array, v: Array, grad: Array, beta1: Array, beta2: Array
                  ) -> tuple[Array, Array]:  # fmt: skip
    return m + (grad - m) * (1 - beta1), v + (grad * grad - v) * (1 - beta2)


@_update("ResourceApplyAdam", "beta1_power", "beta2_power", "lr", "beta1", "beta2",
         "epsilon", sep={"lr": " : "})
def resource_apply_adam(
    var: Array, m: Array, v: Array, beta1_power: Array, beta2_power: Array, lr: Array,
    beta1: Array, beta2: Array, epsilon: Array, grad: Array, *, use_nesterov: bool,
) -> None:  # fmt: skip
    """Adam: var -= lr_t*m/(sqrt(v) + epsilon), lr_t = lr*sqrt(1-beta2^t)/(1-beta1^t)."""
    slots = _Slots("ResourceApplyAdam", grad.dtype, "var m v", var, m, v)
    x, m, v = slots.dense(grad)
    rate = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m, v = _adam_moments(m, v, grad, beta1, beta2)
    step = grad * (1 - beta1) + beta1 * m if use_nesterov else m
    slots.keep(x - step * rate / (np.sqrt(v) + epsilon), m, v)


@_update("ResourceApplyAdamWithAmsgrad", "beta1_power", "beta2_power", "lr", "beta1", "beta2",
         "epsilon", sep={"lr": " : "})
def resource_apply_adam_with_amsgrad(
    var: Array, m: Array, v: Array, vhat: Array, beta1_power: Array, beta2_power: Array,
    lr: Array, beta1: Array, beta2: Array, epsilon: Array, grad: Array,
) -> None:  # fmt: skip
    """Adam dividing by the largest v seen, vhat = max(vhat, v)."""
    slots = _Slots("ResourceApplyAdamWithAmsgrad", grad.dtype, "var m v vhat", var, m, v, vhat)
    x, m, v, vhat = slots.dense(grad)
    rate = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m, v = _adam_moments(m, v, grad, beta1, beta2)
    vhat = np.where(vhat < v, v, vhat)
    slots.keep(x - m * rate / (np.sqrt(vhat) + epsilon), m, v, vhat)


@_update("ResourceApplyAdaMax", "beta1_power", "lr", "beta1", "beta2", "epsilon",
         sep={"lr": " : "})
def resource_apply_ada_max(
    var: Array, m: Array, v: Array, beta1_power: Array, lr: Array, beta1: Array,
    beta2: Array, epsilon: Array, grad: Array,
) -> None:  # fmt: skip
    """AdaMax: v = max(beta2*v, |g|); var -= lr/(1-beta1^t) * m/(v + epsilon)."""
    slots = _Slots("ResourceApplyAdaMax", grad.dtype, "var m v", var, m, v)
    x, m, v = slots.dense(grad)
    m = m + (grad - m) * (1 - beta1)
    v = np.maximum(beta2 * v, np.abs(grad))
    slots.keep(x - lr / (1 - beta1_power) * (m / (v + epsilon)), m, v)


@_update("ResourceApplyRMSProp", "lr", "rho", "momentum", "epsilon", sep={"lr": " : "})
def resource_apply_rms_prop(var: Array, ms: Array, mom: Array, lr: Array, rho: Array,
                            momentum: Array, epsilon: Array, grad: Array) -> None:  # fmt: skip
    """ms += (1-rho)*(g² - ms); mom = momentum*mom + lr*g/sqrt(ms + epsilon); var -= mom."""
    slots = _Slots("ResourceApplyRMSProp", grad.dtype, "var ms mom", var, ms, mom)
    x, ms, mom = slots.dense(grad)
    ms = ms + (grad * grad - ms) * (1 - rho)
    mom = mom * momentum + grad * lr / np.sqrt(ms + epsilon)
    slots.keep(x - mom, ms, mom)


@_update("ResourceApplyCenteredRMSProp", "lr", "rho", "momentum", "epsilon",
         sep={"lr": " : "})
def resource_apply_centered_rms_prop(
    var: Array, mg: Array, ms: Array, mom: Array, lr: Array, rho: Array, momentum: Array,
    epsilon: Array, grad: Array,
) -> None:  # fmt: skip
    """RMSProp of the centred second moment: sqrt(ms - mg² + epsilon)."""
    slots = _Slots("ResourceApplyCenteredRMSProp", grad.dtype, "var mg ms mom",
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


@_update("ResourceApplyAddSign", "lr", "alpha", "sign_decay", "beta")
def resource_apply_add_sign(var: Array, m: Array, lr: Array, alpha: Array, sign_decay: Array,
                            beta: Array, grad: Array) -> None:  # fmt: skip
    """var -= lr*(alpha + sign_decay*sign(g)*sign(m))*g."""
    slots = _Slots("ResourceApplyAddSign", grad.dtype, "var m", var, m)
    x, m = slots.dense(grad)
    m, agree = _sign_agreement(m, grad, beta)
    slots.keep(x - lr * (alpha + sign_decay * agree) * grad, m)


@_update("ResourceApplyPowerSign", "lr", "logbase", "sign_decay", "beta")
def resource_apply_power_sign(var: Array, m: Array, lr: Array, logbase: Array,
                              sign_decay: Array, beta: Array, grad: Array) -> None:  # fmt: skip
    """var -= lr*exp(logbase*sign_decay*sign(g)*sign(m))*g."""
    slots = _Slots("ResourceApplyPowerSign", grad.dtype, "var m", var, m)
    x, m = slots.dense(grad)
    m, agree = _sign_agreement(m, grad, beta)
    slots.keep(x - lr * np.exp(logbase * sign_decay * agree) * grad, m)


# --- Sparse updates: rows ``indices`` of var, one grad row each ---------------------------


@_update("ResourceSparseApplyProximalGradientDescent", "alpha", "l1", "l2", sparse=True)
def resource_sparse_apply_proximal_gradient_descent(
    var: Array, alpha: Array, l1: Array, l2: Array, grad: Array, indices: Array
) -> None:  # fmt: skip
    """ProximalGradientDescent on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyProximalGradientDescent", grad.dtype, "var", var)
    (x,) = slots.rows(grad, indices, check_first=False, inner=True)
    for r, g in slots.batches:
        x[r] = _proximal(x[r] - g * alpha, alpha, l1, l2)
    slots.finish()


@_update("ResourceSparseApplyAdadelta", "lr", "rho", "epsilon", sparse=True)
def resource_sparse_apply_adadelta(
    var: Array, accum: Array, accum_update: Array, lr: Array, rho: Array, epsilon: Array,
    grad: Array, indices: Array,
) -> None:  # fmt: skip
    """Adadelta on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyAdadelta", grad.dtype, "var accum_grad accum_update",
                   var, accum, accum_update)  # fmt: skip
    x, a, u = slots.rows(grad, indices, check_first=True)
    for r, g in slots.batches:
        a[r] = a[r] * rho + g * g * (1 - rho)
        x[r] -= np.sqrt(u[r] + epsilon) * _rsqrt(a[r] + epsilon) * g * lr
        step = np.sqrt(u[r] + epsilon) * _rsqrt(a[r] + epsilon) * g  # again: u may be x
        u[r] = u[r] * rho + step * step * (1 - rho)
    slots.finish()


@_update("ResourceSparseApplyAdagrad", "lr", sparse=True)
def resource_sparse_apply_adagrad(var: Array, accum: Array, lr: Array, grad: Array,
                                  indices: Array, *, update_slots: bool) -> None:  # fmt: skip
    """Adagrad on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyAdagrad", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=True, inner=True)
    for r, g in slots.batches:
        if update_slots:
            a[r] += g * g
        x[r] -= lr * g * _rsqrt(a[r])
    slots.finish()


@_update("ResourceSparseApplyAdagradV2", "lr", "epsilon", sparse=True)
def resource_sparse_apply_adagrad_v2(var: Array, accum: Array, lr: Array, epsilon: Array,
                                     grad: Array, indices: Array, *,
                                     update_slots: bool) -> None:  # fmt: skip
    """AdagradV2 on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyAdagradV2", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=True, inner=True)
    for r, g in slots.batches:
        if update_slots:
            a[r] += g * g
        x[r] -= lr * g / (np.sqrt(a[r]) + epsilon)
    slots.finish()


@_update("ResourceSparseApplyProximalAdagrad", "lr", "l1", "l2", sparse=True,
         limits={"lr": "positive", "l1": "non-negative", "l2": "non-negative"})
def resource_sparse_apply_proximal_adagrad(
    var: Array, accum: Array, lr: Array, l1: Array, l2: Array, grad: Array, indices: Array
) -> None:  # fmt: skip
    """ProximalAdagrad on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyProximalAdagrad", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=False, inner=True)
    for r, g in slots.batches:
        a[r] += g * g
        x[r] -= g * lr * _rsqrt(a[r])
        x[r] = _proximal(x[r], lr * _rsqrt(a[r]), l1, l2)  # the rate again: a may be x
    slots.finish()


@_update("ResourceSparseApplyAdagradDA", "lr", "l1", "l2", "global_step", sparse=True)
def resource_sparse_apply_adagrad_da(
    var: Array, gradient_accumulator: Array, gradient_squared_accumulator: Array,
    grad: Array, indices: Array, lr: Array, l1: Array, l2: Array, global_step: Array,
) -> None:  # fmt: skip
    """AdagradDA on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyAdagradDA", grad.dtype, "var accum accum",
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
    slots = _Slots(op_name, grad.dtype, "var accum linear", var, accum, linear)
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


@_update("ResourceSparseApplyFtrl", "lr", "l1", "l2", "lr_power", sparse=True,
         limits=_FTRL_LIMITS)
def resource_sparse_apply_ftrl(var: Array, accum: Array, linear: Array, grad: Array,
                               indices: Array, lr: Array, l1: Array, l2: Array,
                               lr_power: Array, *,
                               multiply_linear_by_lr: bool) -> None:  # fmt: skip
    """Ftrl on the rows ``indices``."""
    _sparse_ftrl("ResourceSparseApplyFtrl", var, accum, linear, grad, indices, lr, l1, l2,
                 None, lr_power, multiply_linear_by_lr)  # fmt: skip


@_update("ResourceSparseApplyFtrlV2", "lr", "l1", "l2", "l2_shrinkage", "lr_power",
         sparse=True, limits={**_FTRL_LIMITS, "l2_shrinkage": "non-negative"})
def resource_sparse_apply_ftrl_v2(
    var: Array, accum: Array, linear: Array, grad: Array, indices: Array, lr: Array,
    l1: Array, l2: Array, l2_shrinkage: Array, lr_power: Array, *,
    multiply_linear_by_lr: bool,
) -> None:  # fmt: skip
    """FtrlV2 on the rows ``indices``."""
    _sparse_ftrl("ResourceSparseApplyFtrlV2", var, accum, linear, grad, indices, lr, l1, l2,
                 l2_shrinkage, lr_power, multiply_linear_by_lr)  # fmt: skip


@_update("ResourceSparseApplyMomentum", "lr", "momentum", sparse=True, sep={"lr": " : "})
def resource_sparse_apply_momentum(var: Array, accum: Array, lr: Array, grad: Array,
                                   indices: Array, momentum: Array, *,
                                   use_nesterov: bool) -> None:  # fmt: skip
    """Momentum on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyMomentum", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=False)
    for r, g in slots.batches:
        a[r] = a[r] * momentum + g
        x[r] -= lr * g + lr * momentum * a[r] if use_nesterov else lr * a[r]
    slots.finish()


@_update("ResourceSparseApplyKerasMomentum", "lr", "momentum", sparse=True,
         sep={"lr": " : "})
def resource_sparse_apply_keras_momentum(var: Array, accum: Array, lr: Array, grad: Array,
                                         indices: Array, momentum: Array, *,
                                         use_nesterov: bool) -> None:  # fmt: skip
    """KerasMomentum on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyKerasMomentum", grad.dtype, "var accum", var, accum)
    x, a = slots.rows(grad, indices, check_first=False, keras=True)
    for r, g in slots.batches:
        a[r] = a[r] * momentum - g * lr
        x[r] += a[r] * momentum - g * lr if use_nesterov else a[r]
    slots.finish()


@_update("ResourceSparseApplyRMSProp", "lr", "rho", "momentum", "epsilon", sparse=True)
def resource_sparse_apply_rms_prop(
    var: Array, ms: Array, mom: Array, lr: Array, rho: Array, momentum: Array,
    epsilon: Array, grad: Array, indices: Array,
) -> None:  # fmt: skip
    """RMSProp on the rows ``indices`` (ms = rho*ms + (1-rho)*g², the same in other
    words)."""
    slots = _Slots("ResourceSparseApplyRMSProp", grad.dtype, "var ms mom", var, ms, mom)
    x, s, p = slots.rows(grad, indices, check_first=True)
    for r, g in slots.batches:
        s[r] = s[r] * rho + g * g * (1 - rho)
        p[r] = p[r] * momentum + _rsqrt(s[r] + epsilon) * lr * g
        x[r] -= p[r]
    slots.finish()


@_update("ResourceSparseApplyCenteredRMSProp", "lr", "rho", "momentum", "epsilon",
         sparse=True)
def resource_sparse_apply_centered_rms_prop(
    var: Array, mg: Array, ms: Array, mom: Array, lr: Array, rho: Array, momentum: Array,
    epsilon: Array, grad: Array, indices: Array,
) -> None:  # fmt: skip
    """CenteredRMSProp on the rows ``indices``."""
    slots = _Slots("ResourceSparseApplyCenteredRMSProp", grad.dtype, "var mg ms mom",
                   var, mg, ms, mom)  # fmt: skip
    x, c, s, p = slots.rows(grad, indices, check_first=True)
    for r, g in slots.batches:
        s[r] = s[r] * rho + g * g * (1 - rho)
        c[r] = c[r] * rho + g * (1 - rho)
        p[r] = p[r] * momentum + _rsqrt(s[r] + epsilon - c[r] * c[r]) * lr * g
        x[r] -= p[r]
    slots.finish()
