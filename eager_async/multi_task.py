"""A function call that spans tasks: inputs that live on other tasks of the cluster (the
variables on a parameter server a step function reads), or nodes placed on them.

The call is split by task (``eager_async.partition``); this worker runs its own part and,
as an eager client of its peers in the same context, registers each other task's part
there (``Enqueue`` with ``register_function``) and runs it (``RunComponentFunction``)
under one fresh step id, through which the parts' ``_Send``/``_Recv`` pairs meet. When a
part fails, the step fails with that part's status; the parts waiting for its tensors
get the error from the rendezvous, so none waits forever.

>>> kernel = MultiTaskFunction(spec, env, arg_devices=devices,
...                            remote_inputs=handles, ...)       # doctest: +SKIP
>>> kernel.run(local_inputs, attrs)                             # doctest: +SKIP
[array(3., dtype=float32)]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import secrets
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from ._proto import tensorflow as tf
from ._proto.tensorflow import eager
from .attrs import encode_attr
from .dtypes import DataType, as_int64, to_numpy
from .errors import EagerError, InvalidArgumentError
from .functions import FunctionKernel, FunctionSpec
from .kernels import TensorSpec
from .op_env import OpEnv
from .partition import Partition, RemotePart, called_functions, partition
from .records import HandleRef
from .tensors import decode_tensor, encode_tensor

__all__ = ["MultiTaskFunction", "call_on_task", "live_steps"]

logger = logging.getLogger(__name__)

_OBJECT = np.dtype(object)
_LIVE_STEPS = "multi_task_live_steps"  # in the context's kernel state


def live_steps(state: dict[Hashable, Any]) -> set[int]:
    """The steps of multi-task functions running in the context whose kernel state is
    ``state``: closing the context aborts them."""
    steps: set[int] = state.setdefault(_LIVE_STEPS, set())
    return steps


_NO_OP_ID = -1  # RunComponentFunction: register no outputs (a part gives none)


class MultiTaskFunction:
    """Runs ``spec`` across tasks; ``arg_devices`` names where each input lives (full
    device names), ``remote_inputs`` the handles of the inputs on other tasks (by input
    position), ``library`` the context's functions by name (nested calls travel with a
    part); ``run`` takes the inputs on this worker, in order."""

    is_function = True
    stateful = True

    def __init__(
        self,
        spec: FunctionSpec,
        env: OpEnv,
        *,
        arg_devices: Sequence[str],
        remote_inputs: Mapping[int, HandleRef],
        local_device: str,
        library: Callable[[str], FunctionSpec | None],
    ) -> None:
        self.spec = spec
        self._env = env
        self._arg_devices = tuple(arg_devices)
        self._remote_inputs = dict(remote_inputs)
        self._local_device = local_device
        self._library = library

    @property
    def output_args(self) -> tuple[str, ...]:
        """The names of the function's outputs."""
        return tuple(arg.name for arg in self.spec.outputs)

    def shapes(self, specs: Sequence[TensorSpec], attrs: Mapping[str, Any]) -> list[TensorSpec]:
        """The signature's output types; shapes are known once the parts have run."""
        return [
            TensorSpec(_dtype(arg.dtype, arg.type_attr, attrs), None) for arg in self.spec.outputs
        ]

    def run(self, inputs: Sequence[np.ndarray], attrs: Mapping[str, Any]) -> list[np.ndarray]:
        """Run every part; the outputs arrive here."""
        env = self._env
        if env.peers is None:
            raise InvalidArgumentError("this worker has no channels to its peers")
        parts = self._partition(attrs)
        step = secrets.randbits(62) + 1
        logger.debug(
            "step %d of %s: parts on %s", step, self.spec.name, [p.device for p in parts.remote]
        )
        local_env = env.at_step(step)
        live_steps(env.state).add(step)
        loop = env.peers.loop
        remote = [
            asyncio.run_coroutine_threadsafe(self._run_part(part, step, attrs), loop)
            for part in parts.remote
        ]
        for future in remote:
            future.add_done_callback(lambda done: self._abort_on_failure(done, step))
        local_error: EagerError | None = None
        outputs: list[np.ndarray] = []
        try:
            outputs = FunctionKernel(parts.local, local_env).run(inputs, attrs)
        except EagerError as error:
            local_error = error
        remote_errors = [_outcome(future) for future in remote]
        self._cleanup(parts.remote, step)
        env.rendezvous.abort(step, f"step {step} of {self.spec.name} is over")
        env.peers.end_step(step)
        live_steps(env.state).discard(step)
        failure = _first_cause(local_error, [e for e in remote_errors if e is not None])
        if failure is not None:
            raise failure
        return outputs

    def _abort_on_failure(self, done: concurrent.futures.Future[None], step: int) -> None:
        """A part failed: this worker's own part stops waiting for tensors in the step
        (it may wait for one that part was to send)."""
        error = _outcome(done)
        if error is not None:
            assert self._env.peers is not None
            self._env.peers.abort(step, error)
            self._env.rendezvous.abort(step, error.message)

    def _partition(self, attrs: Mapping[str, Any]) -> Partition:
        # Once per definition, placement of the inputs and view of the cluster.
        key = ("multi_task_partition", id(self.spec), self._arg_devices)
        cached = self._env.state.get(key)
        if cached is not None and cached[0] is self.spec and cached[1] is self._env.cluster:
            parts: Partition = cached[2]
            return parts
        parts = partition(
            self.spec,
            self._arg_devices,
            cluster=self._env.cluster,
            local=self._local_device,
            incarnation=self._incarnation,
            call_attrs=attrs,
            library=self._library,
        )
        self._env.state[key] = (self.spec, self._env.cluster, parts)
        return parts

    def _incarnation(self, device: str) -> int:
        cluster = self._env.cluster
        known = cluster.incarnation_of(device)
        if known is not None:
            return known
        address = cluster.address_of(device)
        assert address is not None and self._env.peers is not None  # ours is always known
        return self._env.peers.blocking(self._env.peers.incarnation(address, device))

    async def _run_part(self, part: RemotePart, step: int, attrs: Mapping[str, Any]) -> None:
        env = self._env
        assert env.peers is not None
        address = env.cluster.address_of(part.device)
        assert address is not None
        await _register(env, address, part.function, part.library)
        inputs = []
        for index in part.arg_indices:
            handle = self._remote_inputs[index]
            dtype = self.spec.inputs[index].dtype
            inputs.append(
                eager.OperationInput(
                    remote_handle=eager.RemoteTensorHandle(
                        op_id=handle.op_id,
                        output_num=handle.output_num,
                        device=part.device,
                        op_device=part.device,
                        dtype=DataType(dtype) if isinstance(dtype, int) else DataType.DT_INVALID,
                    )
                )
            )
        operation = eager.Operation(
            id=_NO_OP_ID,
            name=part.name,
            op_inputs=inputs,
            device=part.device,
            is_component_function=True,
            func_step_id=as_int64(step),
            is_function=True,
        )
        await env.peers.run_component_function(address, env.context_id, operation)

    def _cleanup(self, parts: Sequence[RemotePart], step: int) -> None:
        """Tell each task the step is over (TF's ``cleanup_function``), without waiting
        for the answers: the call's result does not depend on them."""
        env = self._env
        assert env.peers is not None
        item = _cleanup_item(step)
        for address in {env.cluster.address_of(part.device) for part in parts}:
            assert address is not None
            env.peers.enqueue_later(address, env.context_id, [item], f"cleanup of step {step}")


def call_on_task(
    env: OpEnv, device: str, function: str, args: Sequence[np.ndarray], attrs: Mapping[str, Any]
) -> list[np.ndarray]:
    """Run the registered ``function`` on the task that owns ``device`` (another task of
    the cluster), ``args`` sent with the call, and return its outputs (RemoteCall)."""
    if env.peers is None:
        raise InvalidArgumentError("this worker has no channels to its peers")
    spec: FunctionSpec | None = getattr(env.function(function), "spec", None)
    if spec is None or not spec.source:
        raise InvalidArgumentError(
            f"Function '{function}' was not registered from a FunctionDef, so it cannot "
            f"run on {device}"
        )
    address = env.cluster.address_of(device)
    assert address is not None, "call_on_task is for another task's device"
    peers = env.peers
    library = called_functions(spec.nodes, lambda name: _spec_of(env, name))
    step = secrets.randbits(62) + 1
    operation = eager.Operation(
        id=_NO_OP_ID,
        name=spec.name,
        op_inputs=[eager.OperationInput(tensor=encode_tensor(arg)) for arg in args],
        attrs={key: encode_attr(value) for key, value in attrs.items()},
        device=device,
        is_component_function=True,
        func_step_id=as_int64(step),
        is_function=True,
    )

    async def call() -> eager.RunComponentFunctionResponse:
        await _register(env, address, tf.FunctionDef.parse(spec.source), library)
        try:
            return await peers.run_component_function(address, env.context_id, operation)
        finally:
            with contextlib.suppress(EagerError):
                await peers.enqueue(address, env.context_id, [_cleanup_item(step)])

    reply = peers.blocking(call())
    return [decode_tensor(tensor) for tensor in reply.tensor]


def _cleanup_item(step: int) -> eager.QueueItem:
    """TF's ``cleanup_function`` for ``step``: what the step left on a peer goes."""
    return eager.QueueItem(cleanup_function=eager.CleanupFunctionOp(step_id=as_int64(step)))


def _spec_of(env: OpEnv, name: str) -> FunctionSpec | None:
    try:
        kernel = env.function(name)
    except EagerError:
        return None  # an op, not a function
    spec: FunctionSpec | None = getattr(kernel, "spec", None)
    return spec


async def _register(
    env: OpEnv, address: str, function: tf.FunctionDef, library: Sequence[tf.FunctionDef]
) -> None:
    """Register ``function`` (with ``library``) as a component function in the peer's
    context, once per context."""
    assert env.peers is not None and function.signature is not None
    registered = env.state.setdefault("multi_task_registered", set())
    if (address, function.signature.name) in registered:
        return
    item = eager.QueueItem(
        register_function=eager.RegisterFunctionOp(
            function_def=function,
            is_component_function=True,
            library=tf.FunctionDefLibrary(function=list(library)),
        )
    )
    await env.peers.enqueue(address, env.context_id, [item])
    registered.add((address, function.signature.name))


def _outcome(future: concurrent.futures.Future[None]) -> EagerError | None:
    try:
        future.result()
    except EagerError as error:
        return error
    except concurrent.futures.CancelledError:
        return EagerError("a part of a multi-task function was cancelled")
    return None


def _first_cause(local: EagerError | None, remote: list[EagerError]) -> EagerError | None:
    """The error the step reports: a part's own failure rather than another part's
    failing to receive from it."""
    if local is not None and not (remote and "RecvTensor of" in local.message):
        return local
    return remote[0] if remote else local


def _dtype(dtype: Any, type_attr: str, attrs: Mapping[str, Any]) -> np.dtype:
    value = attrs.get(type_attr) if type_attr else dtype
    if isinstance(value, np.dtype):
        return value
    try:
        return to_numpy(int(value))  # type: ignore[arg-type]
    except (EagerError, TypeError, ValueError):
        return _OBJECT
