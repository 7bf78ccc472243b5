"""Row and slice updates of resource variables: ResourceScatter{Add,Sub,Mul,Div,Min,Max,
Update}, ResourceScatterNd{Update,Add,Sub,Min,Max}, ResourceGatherNd and
ResourceStridedSliceAssign; and the helpers the optimizer updates (``training_ops``) share.

Like every variable update here, these build a new array and then replace the variable's
value with it (copy-on-write), so a value read earlier never changes under its reader.

Where TF differs from NumPy's fancy indexing:

- duplicate indices apply one after another (``ResourceScatterAdd`` adds both updates,
  ``ResourceScatterUpdate`` keeps the last);
- ``ResourceScatterMin``/``Max`` keep the variable's element unless the update is
  strictly smaller/larger, so a NaN update is ignored and a NaN element stays;
- ``ResourceScatterDiv`` refuses any zero update ("updates must not contain 0"), even for
  floats; integers divide truncating toward zero;
- a bad index fails the op after the rows before it were applied (``ResourceScatter*``);
  ``ResourceScatterNd*`` applies every good row and reports the *last* bad one, or skips
  bad rows silently with ``bad_indices_policy="IGNORE"``;
- bools add as "or" and subtract as "xor" (``ResourceScatterNdAdd``/``Sub``);
- ``ResourceStridedSliceAssign`` broadcasts the value into the slice (leading dims of 1
  may exceed the slice's rank) and ignores it entirely when the slice is empty;
- an uninitialised variable reads as TF holds it, an empty vector ``[0]`` of its dtype, so
  updating one fails on shapes or indices with INVALID_ARGUMENT.

Where eager_async differs from TF: TF aborts the process when a ResourceScatterNd* or
ResourceStridedSliceAssign value's dtype is not the variable's (a CHECK failure); here
that is INVALID_ARGUMENT. TF checks only the rank of a ResourceScatter* update and reads
rows of another size out of place; here its shape must be ``indices.shape +
var.shape[1:]`` (or a scalar). TF validates 1-D ResourceScatterNd* indices as a column of
indices but scatters them as one index; here they are one index of that depth, as TF
documents.

>>> from .variables import Variable
>>> var = Variable(np.dtype(np.float32), (3,), "v", np.float32([1, 2, 3]))
>>> handle = np.empty((), dtype=object); handle[()] = var
>>> resource_scatter_add(handle, np.int32([0, 0]), np.float32([10, 20]))
>>> var.value
array([31.,  2.,  3.], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import BOOL, STRING, shape_str, tf_name
from .registry import lookup, no_outputs, op
from .specs import Shape, TensorSpec
from .variables import Variable

__all__ = [
    "current",
    "keep",
    "resource_gather_nd",
    "resource_scatter_add",
    "resource_scatter_div",
    "resource_scatter_max",
    "resource_scatter_min",
    "resource_scatter_mul",
    "resource_scatter_nd_add",
    "resource_scatter_nd_max",
    "resource_scatter_nd_min",
    "resource_scatter_nd_sub",
    "resource_scatter_nd_update",
    "resource_scatter_sub",
    "resource_scatter_update",
    "resource_strided_slice_assign",
    "rounds",
    "variable_of",
]

Combine = Callable[[np.ndarray, np.ndarray], np.ndarray]


# --- Shared by every update of a resource variable --------------------------------------


def variable_of(op: str, handle: np.ndarray, name: str = "resource") -> Variable:
    """The ``Variable`` behind a DT_RESOURCE input (variables.py keeps its own lookup
    private), or INVALID_ARGUMENT naming the input.

    >>> variable_of("ResourceScatterAdd", np.float32(1))
    Traceback (most recent call last):
    eager_async.errors.InvalidArgumentError: ResourceScatterAdd: resource must be ...
    """
    item = handle.item() if handle.dtype == STRING and handle.ndim == 0 else None
    if not isinstance(item, Variable):
        raise InvalidArgumentError(
            f"{op}: {name} must be a resource handle (the output of VarHandleOp), not a "
            f"{tf_name(handle.dtype)} tensor of shape {shape_str(handle.shape)}"
        )
    return item


def current(variable: Variable) -> np.ndarray:
    """The value an update reads. TF gives an uninitialised (or destroyed) variable an
    empty vector of its dtype, which its updates see, rather than failing.

    >>> current(Variable(np.dtype(np.int32), None, "v"))
    array([], dtype=int32)
    """
    if variable.value is None:
        return np.zeros((0,), dtype=variable.dtype)
    return variable.value


def keep(variable: Variable, value: np.ndarray) -> None:
    """Replace the variable's value (never written into: readers keep theirs). An
    uninitialised variable stays so, as in TF, whose updates of the empty vector leave
    it uninitialised."""
    if variable.value is not None:
        variable.value = value


def rounds(indices: np.ndarray) -> list[np.ndarray]:
    """Positions of the flat ``indices`` in rounds where no index repeats: the first
    occurrence of each index, then the second... Applying the rounds in turn, each at
    once, is applying the positions one after another, as TF's loops do.

    >>> [r.tolist() for r in rounds(np.array([4, 7, 4, 4]))]
    [[0, 1], [2], [3]]
    """
    flat = np.asarray(indices).reshape(-1)
    if flat.size == 0:
        return []
    order = np.argsort(flat, kind="stable")
    ranked = flat[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, flat.size]))
    occurrence = np.empty(flat.size, dtype=np.intp)
    occurrence[order] = np.arange(flat.size) - first
    return [np.flatnonzero(occurrence == r) for r in range(int(occurrence.max()) + 1)]


def _apply(
    target: np.ndarray, where: np.ndarray, values: np.ndarray, combine: Combine | None
) -> None:
    """``target[where[k]] = combine(target[where[k]], values[k])`` for k in order."""
    for chosen in rounds(where):
        rows = where[chosen]
        target[rows] = values[chosen] if combine is None else combine(target[rows],
                                                                      values[chosen])


def _truncating_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind not in "iu":
        return np.asarray(a / b)
    # INT_MIN / -1 wraps here (TF dies of SIGFPE); callers silence NumPy's warning.
    q = np.floor_divide(a, b)
    return np.asarray(q + ((np.remainder(a, b) != 0) & ((a < 0) != (b < 0))).astype(a.dtype))


def _combine(kind: str, dtype: np.dtype) -> Combine | None:
    """How an update meets the element it lands on; None: it replaces it."""
    if kind == "update":
        return None
    if kind == "max":
        return lambda old, new: np.where(new > old, new, old)
    if kind == "min":
        return lambda old, new: np.where(new < old, new, old)
    if kind == "div":
        return _truncating_divide
    if dtype == BOOL:  # C++ bools: a + b is "or", a - b is "xor"
        return np.logical_or if kind == "add" else np.logical_xor
    ufunc = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[kind]
    return lambda old, new: ufunc(old, new)


def _same_dtype(op: str, variable: Variable, updates: np.ndarray) -> None:
    if variable.dtype != updates.dtype:
        raise InvalidArgumentError(
            f"{op}: DType of scatter resource and updates does not match. The variable "
            f"holds {tf_name(variable.dtype)}, the updates are {tf_name(updates.dtype)}"
        )


# --- ResourceScatter*: rows along the first dim ------------------------------------------


def _scatter(op: str, kind: str, resource: np.ndarray, indices: np.ndarray,
             updates: np.ndarray) -> None:  # fmt: skip
    variable = variable_of(op, resource)
    _same_dtype(op, variable, updates)
    params = current(variable)
    if updates.ndim and updates.ndim != indices.ndim + params.ndim - 1:
        raise InvalidArgumentError(
            "Must have updates.shape = indices.shape + params.shape[1:] or updates.shape = "
            f"[], got updates.shape {shape_str(updates.shape)}, indices.shape "
            f"{shape_str(indices.shape)}, params.shape {shape_str(params.shape)}"
        )
    if kind == "div" and (updates == 0).any():
        raise InvalidArgumentError("updates must not contain 0")
    if indices.size == 0:
        return
    if updates.ndim and updates.shape[: indices.ndim] != indices.shape:
        raise InvalidArgumentError(
            f"The shape of indices ({shape_str(indices.shape)}) must be a prefix of the "
            f"shape of updates ({shape_str(updates.shape)})"
        )
    rows = params.reshape(params.shape[0] if params.ndim else 1, math.prod(params.shape[1:]))
    if updates.ndim and updates.shape[indices.ndim :] != params.shape[1:]:
        raise InvalidArgumentError(
            f"{op}: updates of shape {shape_str(updates.shape)} do not fit indices of shape "
            f"{shape_str(indices.shape)} into a variable of shape {shape_str(params.shape)}: "
            "updates.shape must be indices.shape + params.shape[1:]"
        )
    flat = indices.reshape(-1).astype(np.int64)
    bad = np.flatnonzero((flat < 0) | (flat >= rows.shape[0]))
    good = flat[: bad[0]] if bad.size else flat
    width = rows.shape[1]
    values = np.broadcast_to(updates.reshape(flat.size, width) if updates.ndim else updates,
                             (flat.size, width))  # fmt: skip
    out = rows.copy()
    with np.errstate(all="ignore"):  # x/0 never happens; overflow wraps, inf stays
        _apply(out, good, values[: good.size], _combine(kind, params.dtype))
    keep(variable, out.reshape(params.shape))
    if bad.size:  # TF's loop stops at the first bad index, the rows before it applied
        where = "".join(f"[{i}]" for i in np.unravel_index(int(bad[0]), indices.shape))
        raise InvalidArgumentError(
            f"indices{where} = {int(flat[bad[0]])} is not in [0, {rows.shape[0]})"
        )


@op("ResourceScatterAdd", shape=no_outputs)
def resource_scatter_add(resource: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> None:
    """var[indices] += updates, duplicates adding up."""
    _scatter("ResourceScatterAdd", "add", resource, indices, updates)


@op("ResourceScatterSub", shape=no_outputs)
def resource_scatter_sub(resource: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> None:
    """var[indices] -= updates, duplicates subtracting in turn."""
    _scatter("ResourceScatterSub", "sub", resource, indices, updates)


@op("ResourceScatterMul", shape=no_outputs)
def resource_scatter_mul(resource: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> None:
    """var[indices] *= updates, duplicates multiplying in turn."""
    _scatter("ResourceScatterMul", "mul", resource, indices, updates)


@op("ResourceScatterDiv", shape=no_outputs)
def resource_scatter_div(resource: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> None:
    """var[indices] /= updates; no update may be 0 and integers truncate toward zero."""
    _scatter("ResourceScatterDiv", "div", resource, indices, updates)


@op("ResourceScatterMin", shape=no_outputs)
def resource_scatter_min(resource: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> None:
    """var[indices] = min(var[indices], updates), the variable winning ties and NaNs."""
    _scatter("ResourceScatterMin", "min", resource, indices, updates)


@op("ResourceScatterMax", shape=no_outputs)
def resource_scatter_max(resource: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> None:
    """var[indices] = max(var[indices], updates), the variable winning ties and NaNs."""
    _scatter("ResourceScatterMax", "max", resource, indices, updates)


@op("ResourceScatterUpdate", shape=no_outputs)
def resource_scatter_update(
    resource: np.ndarray, indices: np.ndarray, updates: np.ndarray
) -> None:
    """var[indices] = updates; of duplicate indices the last one's row stays."""
    _scatter("ResourceScatterUpdate", "update", resource, indices, updates)


# --- ResourceScatterNd*: slices addressed by index rows -----------------------------------

_POLICIES = (b"", b"DEFAULT", b"ERROR", b"IGNORE")


def _nd_rule(ref: TensorSpec, indices: TensorSpec, updates: TensorSpec, *,
             bad_indices_policy: bytes) -> None:  # fmt: skip
    """What a ResourceScatterNd* call gets wrong without its variable: the policy, and
    scalar indices."""
    if bad_indices_policy not in _POLICIES:
        raise InvalidArgumentError(
            "Unknown bad indices handling attribute: "
            f"{bad_indices_policy.decode(errors='replace')}"
        )
    if indices.shape == ():
        raise InvalidArgumentError(
            "indices must be at least a vector (a row of coordinates per update), got "
            "shape []"
        )


def _nd_shapes(params: Shape, indices: tuple[int, ...], updates: tuple[int, ...]) -> None:
    """TF's checks of ``updates.shape == indices.shape[:-1] + params.shape[depth:]``."""
    assert params is not None
    depth, batch = indices[-1], len(indices) - 1
    prefix = (f"Dimensions [0,{batch}) of indices[shape={shape_str(indices)}]",
              f"dimensions [0,{batch}) of updates[shape={shape_str(updates)}]")
    suffix = (f"Dimensions [{depth},{len(params)}) of input[shape={shape_str(params)}] must "
              f"match dimensions [{depth},{len(params)}) of updates[shape="
              f"{shape_str(updates)}]")  # fmt: skip
    if len(updates) < batch:
        raise InvalidArgumentError(f"{prefix[0]} must match {prefix[1]}")
    if len(params) < depth or len(updates) != batch + len(params) - depth:
        raise InvalidArgumentError(suffix)
    for d in range(batch):
        if updates[d] != indices[d]:
            raise InvalidArgumentError(
                f"{prefix[0]} = {indices[d]} must match {prefix[1]} = {updates[d]}"
            )
    if updates[batch:] != params[depth:]:
        raise InvalidArgumentError(suffix)


def _scatter_nd(op: str, kind: str, ref: np.ndarray, indices: np.ndarray,
                updates: np.ndarray, policy: bytes) -> None:  # fmt: skip
    _nd_rule(TensorSpec(ref.dtype, ref.shape), TensorSpec(indices.dtype, indices.shape),
             TensorSpec(updates.dtype, updates.shape), bad_indices_policy=policy)
    variable = variable_of(op, ref, "ref")
    _same_dtype(op, variable, updates)
    params = current(variable)
    if params.ndim == 0:
        raise InvalidArgumentError("Output must be at least 1-D, got shape: []")
    if (params.size == 0 or indices.size == 0) and (indices.size or updates.size):
        raise InvalidArgumentError(
            "Indices and updates specified for empty output.  indices shape: "
            f"{shape_str(indices.shape)}"
        )
    _nd_shapes(params.shape, indices.shape, updates.shape)
    if indices.size == 0:
        return
    depth = indices.shape[-1]
    coords = indices.reshape(-1, depth).astype(np.int64)
    bad = ((coords < 0) | (coords >= np.array(params.shape[:depth]))).any(axis=1)
    good = np.flatnonzero(~bad)
    where = np.ravel_multi_index(tuple(coords[good].T), params.shape[:depth])
    width = math.prod(params.shape[depth:])
    slices = params.reshape(math.prod(params.shape[:depth]), width).copy()
    values = updates.reshape(len(coords), width)[good]
    with np.errstate(all="ignore"):
        _apply(slices, where, values, _combine(kind, params.dtype))
    keep(variable, slices.reshape(params.shape))
    if bad.any() and policy != b"IGNORE":
        last = int(np.flatnonzero(bad)[-1])  # TF reports the last bad row, not the first
        position = "".join(f"[{i}]" for i in np.unravel_index(last, indices.shape[:-1]))
        shown = ", ".join(str(int(c)) for c in coords[last])
        raise InvalidArgumentError(
            f"indices{position} = [{shown}] does not index into shape "
            f"{shape_str(params.shape)}"
        )


@op("ResourceScatterNdUpdate", shape=_nd_rule)
def resource_scatter_nd_update(ref: np.ndarray, indices: np.ndarray, updates: np.ndarray, *,
                               bad_indices_policy: bytes) -> None:  # fmt: skip
    """var[indices[..., :]] = updates, slice by slice; of duplicates the last stays."""
    _scatter_nd("ResourceScatterNdUpdate", "update", ref, indices, updates, bad_indices_policy)


@op("ResourceScatterNdAdd", shape=_nd_rule)
def resource_scatter_nd_add(ref: np.ndarray, indices: np.ndarray, updates: np.ndarray, *,
                            bad_indices_policy: bytes) -> None:  # fmt: skip
    """var[indices[..., :]] += updates, duplicates adding up."""
    _scatter_nd("ResourceScatterNdAdd", "add", ref, indices, updates, bad_indices_policy)


@op("ResourceScatterNdSub", shape=_nd_rule)
def resource_scatter_nd_sub(ref: np.ndarray, indices: np.ndarray, updates: np.ndarray, *,
                            bad_indices_policy: bytes) -> None:  # fmt: skip
    """var[indices[..., :]] -= updates, duplicates subtracting in turn."""
    _scatter_nd("ResourceScatterNdSub", "sub", ref, indices, updates, bad_indices_policy)


@op("ResourceScatterNdMin", shape=_nd_rule)
def resource_scatter_nd_min(ref: np.ndarray, indices: np.ndarray, updates: np.ndarray, *,
                            bad_indices_policy: bytes) -> None:  # fmt: skip
    """var[indices[..., :]] = min(var[...], updates), the variable winning NaNs."""
    _scatter_nd("ResourceScatterNdMin", "min", ref, indices, updates, bad_indices_policy)


@op("ResourceScatterNdMax", shape=_nd_rule)
def resource_scatter_nd_max(ref: np.ndarray, indices: np.ndarray, updates: np.ndarray, *,
                            bad_indices_policy: bytes) -> None:  # fmt: skip
    """var[indices[..., :]] = max(var[...], updates), the variable winning NaNs."""
    _scatter_nd("ResourceScatterNdMax", "max", ref, indices, updates, bad_indices_policy)


# --- Reads and slice assignment ---------------------------------------------------------


def _gather_nd_rule(resource: TensorSpec, indices: TensorSpec, *, dtype: np.dtype) -> Shape:
    """Unknown: the result's trailing dims are the variable's."""
    if indices.shape == ():
        raise InvalidArgumentError("indices must be at least a vector")
    return None


@op("ResourceGatherNd", shape=_gather_nd_rule)
def resource_gather_nd(resource: np.ndarray, indices: np.ndarray, *, dtype: np.dtype
                       ) -> np.ndarray:  # fmt: skip
    """GatherNd of the variable's value: the slices its index rows address."""
    _gather_nd_rule(TensorSpec(resource.dtype, resource.shape),
                    TensorSpec(indices.dtype, indices.shape), dtype=dtype)
    variable = variable_of("ResourceGatherNd", resource)
    if variable.dtype != dtype:
        raise InvalidArgumentError(
            f"ResourceGatherNd: trying to read variable with wrong dtype. Expected "
            f"{tf_name(dtype)} got {tf_name(variable.dtype)}"
        )
    result: np.ndarray = lookup("GatherNd").run([current(variable), indices], {})[0]
    return result


def _slice_rule(ref: TensorSpec, begin: TensorSpec, end: TensorSpec, strides: TensorSpec,
                value: TensorSpec) -> None:  # fmt: skip
    """Begin, end and strides must be vectors of one length."""
    shapes = (begin.shape, end.shape, strides.shape)
    known = [s for s in shapes if s is not None]
    if any(len(s) != 1 for s in known) or len({s[0] for s in known if s[0] >= 0}) > 1:
        raise InvalidArgumentError(
            "Expected begin, end, and strides to be 1D equal size tensors, but got shapes "
            f"{', '.join(map(shape_str, shapes[:2]))}, and {shape_str(shapes[2])} instead."
        )


def _broadcast_into(value: np.ndarray, final: tuple[int, ...]) -> np.ndarray:
    """``value`` broadcast to the slice's shape as TF allows: dims of 1 stretch, and
    leading dims of 1 beyond the slice's rank drop."""
    extra = value.ndim - len(final)
    if extra <= 0 or all(d == 1 for d in value.shape[:extra]):
        trimmed = value.reshape(value.shape[max(extra, 0) :])
        dims: list[tuple[int, int]] = list(zip(trimmed.shape[::-1], final[::-1], strict=False))
        if all(d in (1, f) for d, f in dims):
            return np.broadcast_to(trimmed, final)
    raise InvalidArgumentError(
        f"Cannot broadcast input shape {shape_str(value.shape)} into final shape "
        f"{shape_str(final)}"
    )


@op("ResourceStridedSliceAssign", shape=_slice_rule)
def resource_strided_slice_assign(
    ref: np.ndarray, begin: np.ndarray, end: np.ndarray, strides: np.ndarray, value: np.ndarray,
    *, begin_mask: int, end_mask: int, ellipsis_mask: int, new_axis_mask: int,
    shrink_axis_mask: int,
) -> None:  # fmt: skip
    """var[begin:end:strides] = value, the slice read as StridedSlice reads it."""
    op_name = "ResourceStridedSliceAssign"
    _slice_rule(*(TensorSpec(a.dtype, a.shape) for a in (ref, begin, end, strides, value)))
    variable = variable_of(op_name, ref, "ref")
    if variable.dtype != value.dtype:
        raise InvalidArgumentError(
            f"l-value dtype {tf_name(variable.dtype)} does not match r-value dtype "
            f"{tf_name(value.dtype)}"
        )
    old = current(variable)
    masks = {"begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
             "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask}
    # The slice of the element numbers says which elements the slice covers, checked and
    # shaped exactly as StridedSlice reads a slice.
    numbers = np.arange(old.size, dtype=np.int64).reshape(old.shape)
    (covered,) = lookup("StridedSlice").run([numbers, begin, end, strides], masks)
    if covered.size == 0:
        return  # TF does not look at the value of an empty slice
    new = old.copy()
    new.reshape(-1)[covered.reshape(-1)] = _broadcast_into(value, covered.shape).reshape(-1)
    keep(variable, new)
