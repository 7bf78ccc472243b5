"""Registered functions (FunctionDefs) and the interpreter that runs their bodies.

A function call is one op to the runtime: its shape function walks the body with the
kernels' shape functions, its kernel walks the body with the kernels themselves. Node
inputs follow FunctionDef's references: ``arg`` for a function argument, ``node:out:i``
for output ``i`` of a node, ``^node`` for a control dependency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np

from . import kernels
from .attrs import Placeholder
from .errors import EagerError, InvalidArgumentError, UnimplementedError
from .kernels import KernelSpec, TensorSpec
from .kernels.sendrecv_ops import rendezvous_key
from .memory import MemoryQuota, current_quota
from .op_env import OpEnv, OpKernel

__all__ = [
    "ArgSpec",
    "FunctionKernel",
    "FunctionLibrary",
    "FunctionSpec",
    "NodeSpec",
    "check_signature",
]

V = TypeVar("V", TensorSpec, np.ndarray)

_SENDS = frozenset({"_Send", "_HostSend"})
_RECEIVES = frozenset({"_Recv", "_HostRecv"})


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """One input or output argument of a function signature."""

    name: str
    dtype: Any = None
    type_attr: str = ""
    number_attr: str = ""
    type_list_attr: str = ""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node of a function body; attrs may hold ``Placeholder``s for the call's attrs."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, Any]
    device: str = ""


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A FunctionDef, decoded: signature, body and the ``ret`` map (output arg -> reference).

    ``source`` is the FunctionDef as serialized, kept to send parts of it to other tasks
    (``eager_async.partition``)."""

    name: str
    inputs: tuple[ArgSpec, ...]
    outputs: tuple[ArgSpec, ...]
    nodes: tuple[NodeSpec, ...]
    ret: Mapping[str, str]
    control_ret: Mapping[str, str] = field(default_factory=dict)
    source: bytes = field(default=b"", compare=False, repr=False)


def check_signature(spec: FunctionSpec) -> None:
    """Reject a signature the interpreter cannot run (list arguments)."""
    for arg in (*spec.inputs, *spec.outputs):
        if arg.number_attr or arg.type_list_attr:
            raise UnimplementedError(
                f"Function '{spec.name}': argument '{arg.name}' is a list of tensors, "
                "which eager_async does not support yet"
            )


class FunctionKernel:
    """Runs a ``FunctionSpec`` as one op; ``env`` finds the kernel of each body node
    (another function or a registered op) one call level deeper, at call time, so later
    registrations count.

    >>> kernel = FunctionKernel(spec, env)              # doctest: +SKIP
    >>> kernel.run([np.float32(1), np.float32(2)], {})  # doctest: +SKIP
    """

    is_function = True
    stateful = False

    def __init__(self, spec: FunctionSpec, env: OpEnv) -> None:
        check_signature(spec)
        self.spec = spec
        self._env = env
        self._kernels: dict[str, OpKernel] = {}

    @property
    def output_args(self) -> tuple[str, ...]:
        """The names of the function's outputs."""
        return tuple(arg.name for arg in self.spec.outputs)

    def _kernel(self, node: NodeSpec) -> OpKernel:
        """The kernel of a body node, resolved once per call of this function; its env's
        scope names the node, so a stateful kernel keeps its state per node."""
        kernel = self._kernels.get(node.name)
        if kernel is None:
            kernel = self._env.kernel(node.op, scope=(self.spec.name, node.name))
            self._kernels[node.name] = kernel
        return kernel

    def _output_offset(self, node: NodeSpec, arg_name: str) -> int:
        """Where output argument ``arg_name`` of ``node`` starts among its outputs: ops with
        several output arguments name them (each one tensor); the others have one."""
        names: Sequence[str] = getattr(self._kernel(node), "output_args", ())
        return list(names).index(arg_name) if arg_name in names else 0

    def shapes(self, specs: Sequence[TensorSpec], attrs: Mapping[str, Any]) -> list[TensorSpec]:
        """Output specs, from the body's shape functions; a call rejected here never
        runs, so its ``_Send``s fail (see ``run``). A function without outputs (a
        component sending its results to another task) is checked when it runs."""
        if not self.spec.outputs:
            return []
        try:
            return self._evaluate(specs, attrs, lambda kernel, ins, at: kernel.shapes(ins, at))
        except EagerError as error:
            self._fail_sends(attrs, error)
            raise

    def run(self, inputs: Sequence[np.ndarray], attrs: Mapping[str, Any]) -> list[np.ndarray]:
        """The function's results. When it fails, the ``_Send``s it did not reach fail
        too, so the client's RecvTensor gets the error instead of waiting forever."""
        self._prefetch(attrs)
        quota = current_quota()
        try:
            if quota is None:
                return self._evaluate(inputs, attrs, lambda kernel, ins, at: kernel.run(ins, at))
            return self._evaluate(inputs, attrs, partial(_run_within, quota))
        except EagerError as error:
            self._fail_sends(attrs, error)
            raise

    def _fail_sends(self, attrs: Mapping[str, Any], error: EagerError) -> None:
        for _, key in self._keys(_SENDS, attrs):
            self._env.rendezvous.fail(self._env.step_id, key, error)

    def _prefetch(self, attrs: Mapping[str, Any]) -> None:
        """Start every receive from another task at once: one after another, each would
        add a round trip to the call."""
        peers = self._env.peers
        if peers is None:
            return
        for send_device, key in self._keys(_RECEIVES, attrs):
            try:
                address = self._env.cluster.address_of(send_device)
            except EagerError:
                continue  # the _Recv fails on its own account
            if address is not None:
                peers.prefetch(address, self._env.step_id, key)

    def _keys(self, ops: frozenset[str], attrs: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(send device, rendezvous key) of the body's nodes of ``ops``."""
        keys: list[tuple[str, str]] = []
        for node in self.spec.nodes:
            if node.op not in ops:
                continue
            try:
                bound = _bind(node.attrs, attrs, self.spec.name)
                key = rendezvous_key(
                    send_device=bound["send_device"],
                    send_device_incarnation=bound["send_device_incarnation"],
                    recv_device=bound["recv_device"],
                    tensor_name=bound["tensor_name"],
                )
                keys.append((bound["send_device"].decode(), key))
            except (EagerError, KeyError, AttributeError, TypeError, UnicodeDecodeError):
                continue  # a node without its attrs fails on its own account
        return keys

    def _evaluate(
        self,
        args: Sequence[V],
        attrs: Mapping[str, Any],
        step: Callable[[OpKernel, list[V], Mapping[str, Any]], list[V]],
    ) -> list[V]:
        spec = self.spec
        if len(args) != len(spec.inputs):
            raise InvalidArgumentError(
                f"Function '{spec.name}' takes {len(spec.inputs)} inputs, got {len(args)}"
            )
        arg_values = {arg.name: value for arg, value in zip(spec.inputs, args, strict=True)}
        # Like TF, a call may leave out the signature's type attrs: the inputs tell them.
        inferred = {
            arg.type_attr: value.dtype
            for arg, value in zip(spec.inputs, args, strict=True)
            if arg.type_attr and arg.type_attr not in attrs
        }
        if inferred:
            attrs = {**attrs, **inferred}
        nodes = {node.name: node for node in spec.nodes}
        results: dict[str, list[V]] = {}
        in_progress: set[str] = set()

        def producer(ref: str) -> str | None:
            """The node ``ref`` reads from (None for an argument of the function)."""
            name = ref[1:] if ref.startswith("^") else ref.partition(":")[0]
            return None if ref == name and ref in arg_values else name

        def node_outputs(name: str) -> list[V]:
            # Depth first with a stack of our own, not Python recursion: a body may chain
            # thousands of nodes.
            pending = [name]
            while pending:
                current = pending[-1]
                if current in results:
                    pending.pop()
                    continue
                node = nodes.get(current)
                if node is None:
                    raise InvalidArgumentError(f"Function '{spec.name}' has no node '{current}'")
                needed = [
                    p for ref in node.inputs
                    if (p := producer(ref)) is not None and p not in results
                ]  # fmt: skip
                if needed:
                    if current in in_progress or any(p in in_progress for p in needed):
                        raise InvalidArgumentError(
                            f"Function '{spec.name}': node '{current}' is in a cycle"
                        )
                    in_progress.add(current)
                    pending.extend(reversed(needed))
                    continue
                inputs = [v for ref in node.inputs if (v := value_of(ref)) is not None]
                kernel = self._kernel(node)
                try:
                    results[current] = step(kernel, inputs, _bind(node.attrs, attrs, spec.name))
                except EagerError as error:
                    raise type(error)(
                        f"Function '{spec.name}', node '{current}' ({node.op}): {error.message}"
                    ) from error
                in_progress.discard(current)
                pending.pop()
            return results[name]

        def value_of(ref: str) -> V | None:
            if ref.startswith("^"):
                node_outputs(ref[1:])
                return None
            node_name, _, rest = ref.partition(":")
            if not rest:
                if ref in arg_values:
                    return arg_values[ref]
                node_name, rest = ref, "0"
            # "node:out_arg:i": output i of the op's output argument out_arg.
            arg_name, _, index_text = rest.rpartition(":")
            outputs = node_outputs(node_name)
            try:
                first = self._output_offset(nodes[node_name], arg_name)
                return outputs[first + int(index_text)]
            except (ValueError, IndexError):
                raise InvalidArgumentError(
                    f"Function '{spec.name}': bad reference '{ref}' "
                    f"(node '{node_name}' has {len(outputs)} outputs)"
                ) from None

        # Sends first, in the order of the body: a function split across tasks must not
        # wait for another task's tensor before sending what that task waits for.
        for node in spec.nodes:
            if node.op in _SENDS:
                node_outputs(node.name)
        outputs: list[V] = []
        for arg in spec.outputs:
            ref = spec.ret.get(arg.name)
            if ref is None:
                raise InvalidArgumentError(
                    f"Function '{spec.name}' has no ret entry for output '{arg.name}'"
                )
            value = value_of(ref)
            if value is None:
                raise InvalidArgumentError(
                    f"Function '{spec.name}': output '{arg.name}' names a control edge"
                )
            outputs.append(value)
        # Nodes named in control_ret, and stateful nodes (a variable update, a _Send),
        # run even when no output depends on them, as in TF.
        for node_name in spec.control_ret.values():
            node_outputs(node_name)
        for node in spec.nodes:
            if self._kernel(node).stateful:
                node_outputs(node.name)
        return outputs


def _run_within(
    quota: MemoryQuota, kernel: OpKernel, inputs: list[np.ndarray], attrs: Mapping[str, Any]
) -> list[np.ndarray]:
    """A body node's outputs, refused before they are made when they would not fit the
    quota of the op that called the function."""
    if isinstance(kernel, KernelSpec):
        specs = [TensorSpec(a.dtype, a.shape, a) for a in inputs]
        quota.check_specs(kernel.shapes(specs, attrs), kernel.name)
    return kernel.run(inputs, attrs)


def _bind(
    node_attrs: Mapping[str, Any], call_attrs: Mapping[str, Any], function: str
) -> Mapping[str, Any]:
    """Replace the node's attr placeholders with the call's attr values. A node without
    placeholders keeps its own mapping, call after call: the registry's memos know it by
    its identity (a fresh dict per call filled them with dicts used once)."""
    if not any(isinstance(value, Placeholder) for value in node_attrs.values()):
        return node_attrs
    bound: dict[str, Any] = {}
    for key, value in node_attrs.items():
        if isinstance(value, Placeholder):
            if value.name not in call_attrs:
                raise InvalidArgumentError(
                    f"Function '{function}' needs attr '{value.name}', which the call lacks"
                )
            value = call_attrs[value.name]
        bound[key] = value
    return bound


class FunctionLibrary:
    """The functions registered in one context, and the lookup every op goes through:
    a registered function by name, else the registered op.

    >>> library = FunctionLibrary()
    >>> library.add(spec)                              # doctest: +SKIP
    >>> library.lookup("SquareFn", env).run([np.int32(3)], {})  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._functions: dict[str, FunctionSpec] = {}

    def lookup(self, name: str, env: OpEnv) -> OpKernel:
        """``name`` as a registered function or op, bound to ``env``."""
        function = self._functions.get(name)
        if function is not None:
            return FunctionKernel(function, env)
        return kernels.lookup(name).with_env(env)

    def get(self, name: str) -> FunctionSpec | None:
        """The function registered as ``name``, if any."""
        return self._functions.get(name)

    def defines(self, name: str) -> bool:
        """Whether ``name`` is a function registered here."""
        return name in self._functions

    def add(self, function: FunctionSpec) -> None:
        """Register ``function``; the same definition again is fine, a different one
        under a registered name is INVALID_ARGUMENT."""
        check_signature(function)
        existing = self._functions.get(function.name)
        if existing is not None and not _same(existing, function):
            raise InvalidArgumentError(
                f"Cannot register function '{function.name}': a different function with "
                "that name is already registered. Remove it first."
            )
        self._functions[function.name] = function

    def remove(self, name: str) -> None:
        """Unregister ``name``; INVALID_ARGUMENT when it is not registered."""
        if self._functions.pop(name, None) is None:
            raise InvalidArgumentError(
                f"Tried to remove function '{name}', which is not registered"
            )

    def clear(self) -> None:
        """Forget every function."""
        self._functions.clear()


def _same(a: FunctionSpec, b: FunctionSpec) -> bool:
    try:
        return bool(a == b)
    except ValueError:  # tensor-valued attrs do not compare as one bool
        return False
