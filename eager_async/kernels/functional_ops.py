"""Ops that run registered functions (TF's functional_ops): PartitionedCall and
StatefulPartitionedCall (attr ``f``), If and StatelessIf (``then_branch``/``else_branch``),
While and StatelessWhile (``cond``/``body``), and RemoteCall (``f`` on a device named at
run time: this worker's, or another task's of the cluster).

They find the function in their context through ``env`` (``eager_async.op_env``). The
output dtypes come from the op's ``Tout``/``T`` attrs like any op's; the shape rules walk
the function bodies.

>>> partitioned_call([np.int32(3)], f=FuncAttr("SquareFn"), env=env)  # doctest: +SKIP
[array(9, dtype=int32)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..attrs import FuncAttr
from ..devices import DeviceName, WorkerDevices
from ..errors import InvalidArgumentError
from ._checks import tf_name
from .registry import Shape, op
from .specs import TensorSpec

__all__ = ["truthy"]


def truthy(value: np.ndarray) -> bool:
    """TF's predicate rule: a scalar is its value (a string: non-empty), any other tensor
    is true when it has elements."""
    if value.ndim:
        return bool(value.size)
    item = value.item()
    return len(item) > 0 if isinstance(item, bytes) else bool(item)


def _shapes(specs: Sequence[TensorSpec]) -> list[Shape]:
    return [spec.shape for spec in specs]


def _merge(op_name: str, a: TensorSpec, b: TensorSpec) -> Shape:
    """The shape both of two possible outputs are known to have."""
    if a.dtype != b.dtype:
        raise InvalidArgumentError(
            f"{op_name}: the branches return different dtypes ({a.dtype} vs {b.dtype})"
        )
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return None
    return tuple(x if x == y else -1 for x, y in zip(a.shape, b.shape, strict=True))


# --- calls ------------------------------------------------------------------------------


def _call_shape(args: list[TensorSpec], *, f: FuncAttr, env: Any) -> list[Shape]:
    return _shapes(env.function(f.name).shapes(args, f.attrs))


def _call(args: list[np.ndarray], *, f: FuncAttr, env: Any) -> list[np.ndarray]:
    """The results of the function of attr ``f``."""
    results: list[np.ndarray] = env.function(f.name).run(args, f.attrs)
    return results


for _name in ("PartitionedCall", "StatefulPartitionedCall"):
    op(_name, shape=_call_shape)(_call)


# --- If -------------------------------------------------------------------------------


def _if_shape(
    cond: TensorSpec, args: list[TensorSpec], *, then_branch: FuncAttr, else_branch: FuncAttr,
    env: Any,
) -> list[Shape]:  # fmt: skip
    if cond.value is not None:
        taken = then_branch if truthy(cond.value) else else_branch
        return _shapes(env.function(taken.name).shapes(args, taken.attrs))
    a = env.function(then_branch.name).shapes(args, then_branch.attrs)
    b = env.function(else_branch.name).shapes(args, else_branch.attrs)
    if len(a) != len(b):
        raise InvalidArgumentError("If: the branches return different numbers of outputs")
    return [_merge("If", x, y) for x, y in zip(a, b, strict=True)]


def _if(
    cond: np.ndarray, args: list[np.ndarray], *, then_branch: FuncAttr, else_branch: FuncAttr,
    env: Any,
) -> list[np.ndarray]:  # fmt: skip
    """``then_branch(*args)`` when ``cond`` holds, else ``else_branch(*args)``."""
    taken = then_branch if truthy(cond) else else_branch
    results: list[np.ndarray] = env.function(taken.name).run(args, taken.attrs)
    return results


for _name in ("If", "StatelessIf"):
    op(_name, shape=_if_shape)(_if)


# --- While ----------------------------------------------------------------------------


def _while_shape(
    loop_vars: list[TensorSpec], *, cond: FuncAttr, body: FuncAttr, env: Any
) -> list[Shape]:
    env.function(cond.name)
    plain = [TensorSpec(s.dtype, s.shape) for s in loop_vars]
    after = env.function(body.name).shapes(plain, body.attrs)
    if len(after) != len(plain):
        raise InvalidArgumentError(
            f"While: body returns {len(after)} values for {len(plain)} loop variables"
        )
    return [_merge("While", a, b) for a, b in zip(plain, after, strict=True)]


def _while(
    loop_vars: list[np.ndarray], *, cond: FuncAttr, body: FuncAttr, env: Any
) -> list[np.ndarray]:
    """The loop variables once ``cond(*vars)`` fails, after ``vars = body(*vars)``.

    Closing the context stops a loop at its next iteration (CANCELLED), so a loop that
    never ends holds its worker thread only while its context lives.
    """
    test, step = env.function(cond.name), env.function(body.name)
    values = list(loop_vars)
    while truthy(test.run(values, cond.attrs)[0]):
        env.check_cancelled()
        values = step.run(values, body.attrs)
        if len(values) != len(loop_vars):
            raise InvalidArgumentError(
                f"While: body returns {len(values)} values for {len(loop_vars)} loop variables"
            )
    return values


for _name in ("While", "StatelessWhile"):
    op(_name, shape=_while_shape)(_while)


# --- RemoteCall -----------------------------------------------------------------------


def _scalar_target(shape: Shape) -> None:
    if shape not in (None, ()):
        raise InvalidArgumentError(
            f"RemoteCall: target must be a scalar string (a device name), got a tensor of "
            f"shape {list(shape)}"
        )


def _target_device(target: np.ndarray, env: Any) -> str:
    """RemoteCall's ``target`` spelled out, the parts it leaves out taken from this
    worker's CPU (TF's CanonicalizeDeviceName against the op's device); a device of this
    task must be one the worker has."""
    _scalar_target(target.shape)
    item = target.item()
    text = item.decode(errors="replace") if isinstance(item, bytes) else str(item)
    try:
        name = DeviceName.parse(text)
    except InvalidArgumentError:
        raise InvalidArgumentError(f"Could not parse {text} into a device specification.") from None
    job, task = env.cluster.local
    here = WorkerDevices(job, task)
    where = (
        name.job or job,
        here.replica if name.replica is None else name.replica,
        task if name.task is None else name.task,
    )
    kind, index = name.type or "CPU", 0 if name.id is None else name.id
    canonical = f"/job:{where[0]}/replica:{where[1]}/task:{where[2]}/device:{kind}:{index}"
    if where == (job, here.replica, task):
        here.resolve(canonical)
    else:
        env.cluster.address_of(canonical)  # some task of the cluster must own it
    return canonical


def _remote_call_shape(
    target: TensorSpec, args: list[TensorSpec], *, f: FuncAttr, env: Any
) -> list[Shape]:
    _scalar_target(target.shape)
    if target.value is not None:
        _target_device(target.value, env)
    return _call_shape(args, f=f, env=env)


@op("RemoteCall", shape=_remote_call_shape)
def remote_call(
    target: np.ndarray, args: list[np.ndarray], *, f: FuncAttr, Tout: list[np.dtype], env: Any
) -> list[np.ndarray]:
    """``f(*args)`` on device ``target``: here, as PartitionedCall, when it is this
    worker's; on another task of the cluster, as a component function run there."""
    device = _target_device(target, env)
    if env.cluster.is_local(device):
        results: list[np.ndarray] = env.function(f.name).run(args, f.attrs)
    else:
        # Imported here: the kernels load before the runtime modules that use them.
        from ..multi_task import call_on_task

        results = call_on_task(env, device, f.name, args, f.attrs)
    got = [r.dtype for r in results]
    if got != list(Tout):
        raise InvalidArgumentError(
            f"RemoteCall: function '{f.name}' returned [{', '.join(map(tf_name, got))}] where "
            f"Tout says [{', '.join(map(tf_name, Tout))}]"
        )
    return results
