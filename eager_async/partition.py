"""Splitting a function whose inputs or nodes live on several tasks into one component
function per task, as TF's multi-device function runtime does.

Placement: a node that names a device runs there; a node that takes a resource (a
variable, an iterator) runs on that resource's task, as TF colocates them; every other
node runs on the calling worker. Each edge between tasks becomes a ``_Send`` on the
producing task and a ``_Recv`` on the consuming one (a control edge sends a dummy
scalar), under rendezvous keys the caller's step id makes unique. The function's outputs
are all received by the calling worker.

The calling worker's part is a ``FunctionSpec`` it runs itself; each other task's part
is a ``FunctionDef`` (built from the original's NodeDefs, so nothing is lost by decoding)
to register on that task and run with ``RunComponentFunction``.

>>> parts = partition(spec, arg_devices, cluster=view, local=me, incarnation=inc)  # doctest: +SKIP
>>> [part.device for part in parts.remote]                                     # doctest: +SKIP
['/job:ps/replica:0/task:0/device:CPU:0']
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._proto import tensorflow as tf
from .attrs import FuncAttr, Placeholder, decode_attr, encode_attr
from .cluster import ClusterView
from .dtypes import DataType, as_int64, from_numpy
from .errors import InvalidArgumentError, UnimplementedError
from .functions import FunctionSpec, NodeSpec
from .kernels.op_defs import MISSING, op_def

__all__ = ["Partition", "RemotePart", "called_functions", "needs_partition", "partition"]

@dataclass(frozen=True, slots=True)
class RemotePart:
    """The component of another task: register ``function`` (with the functions it calls,
    ``library``) there, then run it with the caller's inputs ``arg_indices`` (handles on
    that task) as its inputs."""

    device: str
    function: tf.FunctionDef
    arg_indices: tuple[int, ...]
    library: tuple[tf.FunctionDef, ...] = ()

    @property
    def name(self) -> str:
        """The component function's name."""
        assert self.function.signature is not None
        return self.function.signature.name


@dataclass(frozen=True, slots=True)
class Partition:
    """A function split by task: the calling worker's part (``local``, taking the inputs
    ``local_args``, giving every output) and the other tasks' parts."""

    local: FunctionSpec
    local_args: tuple[int, ...]
    remote: tuple[RemotePart, ...] = field(default=())


Incarnation = Callable[[str], int]
"""The incarnation of a device (full name), for the rendezvous keys of its sends."""


def needs_partition(spec: FunctionSpec, cluster: ClusterView) -> bool:
    """Whether a node of ``spec`` names a device of another task."""
    return any(node.device and not cluster.is_local(node.device) for node in spec.nodes)


def partition(
    spec: FunctionSpec,
    arg_devices: Sequence[str],
    *,
    cluster: ClusterView,
    local: str,
    incarnation: Incarnation,
    call_attrs: Mapping[str, Any],
    library: Callable[[str], FunctionSpec | None],
) -> Partition:
    """Split ``spec`` called with inputs on ``arg_devices`` (full names) on the worker
    whose device is ``local``; ``library`` finds the functions a part calls, which travel
    with it (a call runs whole where its resources live)."""
    if not spec.source:
        raise UnimplementedError(
            f"Function '{spec.name}' was not registered from a FunctionDef, so its parts "
            "cannot be sent to other tasks"
        )
    return _Splitter(spec, arg_devices, cluster, local, incarnation, call_attrs, library).run()


class _Splitter:
    """One partitioning: placement, then the parts."""

    def __init__(
        self,
        spec: FunctionSpec,
        arg_devices: Sequence[str],
        cluster: ClusterView,
        local: str,
        incarnation: Incarnation,
        call_attrs: Mapping[str, Any],
        library: Callable[[str], FunctionSpec | None],
    ) -> None:
        self.spec = spec
        self.cluster = cluster
        self.local = local
        self.incarnation = incarnation
        self.call_attrs = call_attrs
        self.library = library
        source = tf.FunctionDef.parse(spec.source)
        self.signature = source.signature
        self.raw = {node.name: node for node in source.node_def}
        self.args = {arg.name: index for index, arg in enumerate(spec.inputs)}
        self.arg_devices = {
            arg.name: device for arg, device in zip(spec.inputs, arg_devices, strict=True)
        }
        self.nodes = {node.name: node for node in spec.nodes}
        self.device: dict[str, str] = {}
        self.order: dict[str, int] = {}
        # Edges between tasks: (value reference, consuming device) -> the _Recv's name;
        # (control inputs, producing device, consuming device) -> the trigger's _Recv.
        self.recvs: dict[tuple[str, str], str] = {}
        self.triggers: dict[tuple[tuple[str, ...], str, str], str] = {}
        self.numbers = itertools.count()
        # Nodes added per device, with the topological position of what they carry.
        self.extra: dict[str, list[tuple[int, NodeSpec]]] = {}

    # -- placement ---------------------------------------------------------------------

    def run(self) -> Partition:
        for name in self.nodes:
            self._place(name, set())
        self._place_constants()
        devices = sorted({*self.device.values(), *self.arg_devices.values()} - {self.local})
        parts: dict[str, list[tuple[NodeSpec, tf.NodeDef | None]]] = {d: [] for d in devices}
        parts[self.local] = []
        for name, node in self.nodes.items():
            here = self.device[name]
            inputs = self._inputs_on(node.inputs, here)
            parts[here].append((replace(node, inputs=inputs), self.raw.get(name)))
        ret = {out: self._input_on(ref, self.local) for out, ref in self.spec.ret.items()}
        for device, extra in self.extra.items():
            # A worker that runs its part node by node sends in topological order, so
            # that no part waits for a tensor whose send waits for that part.
            for _, node in sorted(extra, key=lambda entry: entry[0]):
                parts[device].append((_local(node) if device == self.local else node, None))
        local_nodes = tuple(node for node, _ in parts[self.local])
        local_args = tuple(
            i for i, arg in enumerate(self.spec.inputs) if self.arg_devices[arg.name] == self.local
        )
        local_spec = FunctionSpec(
            name=self.spec.name,
            inputs=tuple(self.spec.inputs[i] for i in local_args),
            outputs=self.spec.outputs,
            nodes=local_nodes,
            ret=ret,
            control_ret={
                k: v for k, v in self.spec.control_ret.items() if self.device.get(v) == self.local
            },
        )
        remote = tuple(self._remote_part(device, parts[device]) for device in devices)
        return Partition(local_spec, local_args, remote)

    def _place_constants(self) -> None:
        """A constant that names no device goes where all its consumers are, as TF's
        placer puts a generator node with its consumer: computed there, not sent there."""
        consumers: dict[str, set[str]] = {}
        for name, node in self.nodes.items():
            for ref in node.inputs:
                if not ref.startswith("^"):
                    consumers.setdefault(ref.partition(":")[0], set()).add(self.device[name])
        for ref in self.spec.ret.values():
            consumers.setdefault(ref.partition(":")[0], set()).add(self.local)
        for name, node in self.nodes.items():
            if node.op != "Const" or node.device:
                continue
            where = consumers.get(name, set())
            if len(where) == 1 and all(ref.startswith("^") for ref in node.inputs):
                self.device[name] = next(iter(where))

    def _place(self, name: str, visiting: set[str]) -> str:
        placed = self.device.get(name)
        if placed is not None:
            return placed
        node = self.nodes.get(name)
        if node is None:
            raise InvalidArgumentError(f"Function '{self.spec.name}' has no node '{name}'")
        if name in visiting:
            raise InvalidArgumentError(f"Function '{self.spec.name}': node '{name}' is in a cycle")
        visiting.add(name)
        device = self.cluster.full_name(node.device) if node.device else self.local
        homes = set()
        for ref in node.inputs:
            if ref.startswith("^"):
                self._place(ref[1:], visiting)
                continue
            home = self._resource_home(ref, visiting)
            if home is not None:
                homes.add(home)
        if len(homes) > 1:
            raise UnimplementedError(
                f"Function '{self.spec.name}': node '{name}' ({node.op}) takes resources on "
                f"several tasks ({', '.join(sorted(homes))}); eager_async runs a node where "
                "its resources live, so they must be on one task"
            )
        if homes:
            (device,) = homes  # a resource's ops run where it lives, as TF colocates them
        visiting.discard(name)
        self.device[name] = device
        self.order[name] = len(self.order)  # post-order: after every input, topological
        return device

    def _resource_home(self, ref: str, visiting: set[str]) -> str | None:
        """The device of the resource ``ref`` carries; None when it carries no resource."""
        if ref.startswith("^"):
            return None
        node_name, _, rest = ref.partition(":")
        if not rest and ref in self.args:
            index = self.args[ref]
            if _is_resource(self.spec.inputs[index].dtype):
                return self.arg_devices[ref]
            return None
        dtype = self._type_of(ref)
        if dtype != DataType.DT_RESOURCE:
            return None
        return self._place(node_name, visiting)

    # -- types -------------------------------------------------------------------------

    def _type_of(self, ref: str) -> DataType:
        """The TF type of the value ``ref`` names (an argument or a node's output)."""
        if ref in self.args:
            return _data_type(self.spec.inputs[self.args[ref]].dtype, ref)
        node_name, _, rest = ref.partition(":")
        node = self.nodes[node_name]
        arg_name, _, index_text = rest.rpartition(":") if rest else ("", "", "0")
        outputs = self._output_types(node)
        if not arg_name:
            flat = [t for _, types in outputs for t in types]
            return flat[int(index_text)]
        for name, types in outputs:
            if name == arg_name:
                return types[int(index_text)]
        raise InvalidArgumentError(
            f"Function '{self.spec.name}': node '{node_name}' has no output '{arg_name}'"
        )

    def _output_types(self, node: NodeSpec) -> list[tuple[str, list[DataType]]]:
        attrs = {**node.attrs}
        for key, value in attrs.items():
            if isinstance(value, Placeholder):
                attrs[key] = self.call_attrs.get(value.name)
        callee = self.library(node.op)
        if callee is not None:
            return [
                (arg.name, [_data_type(arg.dtype, f"{node.name}:{arg.name}")])
                for arg in callee.outputs
            ]
        definition = op_def(node.op)
        if definition is None:
            raise InvalidArgumentError(f"Function '{self.spec.name}': unknown op '{node.op}'")
        for name, attr in definition.attrs.items():
            if name not in attrs and attr.default is not MISSING:
                attrs[name] = attr.default  # TF leaves defaults out of NodeDefs
        outputs: list[tuple[str, list[DataType]]] = []
        for arg in definition.outputs:
            if arg.type_list_attr:
                types = [
                    _data_type(t, f"{node.name}:{arg.name}")
                    for t in attrs.get(arg.type_list_attr, [])
                ]
            else:
                one = (
                    DataType.from_string("DT_" + arg.type_name.upper())
                    if arg.type_name
                    else _data_type(attrs.get(arg.type_attr), f"{node.name}:{arg.name} ({node.op})")
                )
                types = [one] * (int(attrs.get(arg.number_attr, 1)) if arg.number_attr else 1)
            outputs.append((arg.name, types))
        return outputs

    # -- edges -------------------------------------------------------------------------

    def _producer_device(self, ref: str) -> str:
        name = ref.lstrip("^")
        if name in self.args:
            return self.arg_devices[name]
        return self.device[name.partition(":")[0]]

    def _inputs_on(self, refs: Sequence[str], here: str) -> tuple[str, ...]:
        """A node's inputs as the part on ``here`` names them. Its control inputs from
        one other task share one trigger: one send, not one per control edge."""
        data = [self._input_on(ref, here) for ref in refs if not ref.startswith("^")]
        controls: list[str] = []
        remote: dict[str, list[str]] = {}
        for ref in refs:
            if not ref.startswith("^"):
                continue
            there = self._producer_device(ref)
            if there == here:
                controls.append(ref)
            else:
                remote.setdefault(there, []).append(ref)
        for there, group in sorted(remote.items()):
            key = (tuple(sorted(set(group))), there, here)
            recv = self.triggers.get(key)
            if recv is None:
                recv = self._edge(key[0], there, here, control=True)
                self.triggers[key] = recv
            controls.append(f"^{recv}")
        return (*data, *controls)

    def _input_on(self, ref: str, here: str) -> str:
        """The value ``ref`` as the part on ``here`` names it: itself, or a _Recv of it."""
        there = self._producer_device(ref)
        if there == here:
            return ref
        key = (ref, here)
        recv = self.recvs.get(key)
        if recv is None:
            recv = self._edge(ref, there, here, control=False)
            self.recvs[key] = recv
        return f"{recv}:tensor:0"

    def _edge(self, refs: str | tuple[str, ...], there: str, here: str, control: bool) -> str:
        """A _Send on ``there`` and its _Recv on ``here`` of the value ``refs`` names, or
        (``control``) of a trigger that runs after every node ``refs`` names."""
        number = next(self.numbers)
        group = (refs,) if isinstance(refs, str) else refs
        producers = [ref.lstrip("^").partition(":")[0] for ref in group]
        position = max(self.order.get(p, -1) for p in producers)  # -1: an argument
        dtype = DataType.DT_FLOAT
        if control:
            tensor_name = f"edge_{number}_control"
            trigger = f"eager_async_trigger_{number}"
            self._add(there, NodeSpec(trigger, "Const", group, {
                "dtype": DataType.DT_FLOAT, "value": np.array(0, np.float32),
            }), position)  # fmt: skip
            source = f"{trigger}:output:0"
        else:
            (source,) = group
            tensor_name = f"edge_{number}_{source.replace(':', '_')}"
            dtype = self._type_of(source)
        common = {
            "tensor_name": tensor_name.encode(),
            "send_device": there.encode(),
            "send_device_incarnation": as_int64(self.incarnation(there)),
            "recv_device": here.encode(),
            "client_terminated": False,
        }
        send, recv = f"eager_async_send_{number}", f"eager_async_recv_{number}"
        self._add(there, NodeSpec(send, "_Send", (source,), {**common, "T": dtype}), position)
        self._add(here, NodeSpec(recv, "_Recv", (), {**common, "tensor_type": dtype}), position)
        return recv

    def _add(self, device: str, node: NodeSpec, position: int) -> None:
        self.extra.setdefault(device, []).append((position, node))

    # -- the other tasks' FunctionDefs ---------------------------------------------------

    def _remote_part(
        self, device: str, nodes: Sequence[tuple[NodeSpec, tf.NodeDef | None]]
    ) -> RemotePart:
        indices = tuple(
            i for i, arg in enumerate(self.spec.inputs) if self.arg_devices[arg.name] == device
        )
        assert self.signature is not None
        input_args = [self.signature.input_arg[i] for i in indices]
        node_defs = [_node_def(node, raw, device) for node, raw in nodes]
        controls = sorted(
            node.name
            for node, _ in nodes
            if node.op == "_Send" or node.name in self.spec.control_ret.values()
        )
        function = tf.FunctionDef(
            signature=tf.OpDef(input_arg=input_args, control_output=controls, is_stateful=True),
            node_def=node_defs,
            control_ret={name: name for name in controls},
        )
        digest = hashlib.sha256(bytes(function)).hexdigest()[:12]
        job, task = self.cluster.task_of(device)
        assert function.signature is not None
        function.signature.name = f"{self.spec.name}_part_{job}_{task}_{digest}"
        library = called_functions((n for n, _ in nodes), self.library)
        return RemotePart(device, function, indices, tuple(library))

def called_functions(
    nodes: Iterable[NodeSpec], library: Callable[[str], FunctionSpec | None]
) -> list[tf.FunctionDef]:
    """The FunctionDefs of the functions ``nodes`` call, directly or through others, once
    each: what another task needs registered to run them."""
    found: dict[str, FunctionSpec] = {}
    pending = list(nodes)
    while pending:
        node = pending.pop()
        for name in (node.op, *_function_names(node.attrs.values())):
            callee = library(name)
            if callee is None or name in found:
                continue
            if not callee.source:
                raise UnimplementedError(
                    f"Function '{name}' was not registered from a FunctionDef, so it "
                    "cannot be sent to another task"
                )
            found[name] = callee
            pending.extend(callee.nodes)
    return [tf.FunctionDef.parse(f.source) for f in found.values()]


def _node_def(node: NodeSpec, raw: tf.NodeDef | None, device: str) -> tf.NodeDef:
    """The NodeDef of ``node`` for another task: the original one with its inputs
    rewritten, or one built for an added ``_Send``/``_Recv``/trigger."""
    if raw is not None:
        raw.input = list(node.inputs)
        raw.device = device
        return raw
    attrs = {key: encode_attr(value) for key, value in node.attrs.items()}
    return tf.NodeDef(
        name=node.name, op=node.op, input=list(node.inputs), device=device, attr=attrs
    )


def _function_names(values: Iterable[Any]) -> list[str]:
    """The functions attr values name (``f``, a branch, a list of branches)."""
    names: list[str] = []
    for value in values:
        if isinstance(value, FuncAttr):
            names.append(value.name)
        elif isinstance(value, list):
            names.extend(item.name for item in value if isinstance(item, FuncAttr))
    return names


def _is_resource(dtype: Any) -> bool:
    return bool(dtype == DataType.DT_RESOURCE)


def _data_type(value: Any, what: str) -> DataType:
    if isinstance(value, DataType):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return DataType(value)
    if isinstance(value, np.dtype):
        return from_numpy(value)
    raise InvalidArgumentError(
        f"cannot tell the type of '{what}' (got {value!r}) to send it between tasks"
    )


def _local(node: NodeSpec) -> NodeSpec:
    """An added node with its attrs as the local interpreter's kernels take them (TF
    types as NumPy dtypes where NumPy has them)."""
    return replace(node, attrs={k: decode_attr(encode_attr(v)) for k, v in node.attrs.items()})
