"""What the optimizer updates share: registering an update with the checks TF's kernel
makes before it reads the variables (``update``), the variables one update reads and
writes (``Slots``), and two steps of their math (``rsqrt``, ``proximal``).

Where eager_async differs from TF: TF aborts the process when ``T`` is not the
variable's dtype; here ``Slots`` refuses it with INVALID_ARGUMENT.

>>> proximal(np.float32([3, -0.5, -3]), np.float32(1), np.float32(1), np.float32(0))
array([ 2., -0., -2.], dtype=float32)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import FLOAT32, HALVES, shape_str, tf_name
from ..contract import lookup_def
from ..registry import op
from ..resource_scatter import current, keep, rounds, variable_of

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


def update(
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


def rsqrt(x: Array) -> Array:
    """1/sqrt(x) rounded once, as Eigen's rsqrt of half and bfloat16."""
    if x.dtype in HALVES:
        return np.asarray(1 / np.sqrt(x.astype(FLOAT32))).astype(x.dtype)
    return np.asarray(1 / np.sqrt(x))


class Slots:
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


def proximal(prox: Array, rate: Array, l1: Array, l2: Array) -> Array:
    """FOBOS: soft-threshold ``prox`` by rate*l1 (when l1 > 0), shrink by 1 + l2*rate."""
    if l1 > 0:
        return np.asarray(np.sign(prox) * np.maximum(np.abs(prox) - rate * l1, 0) / (1 + l2 * rate))
    return np.asarray(prox / (1 + l2 * rate))
