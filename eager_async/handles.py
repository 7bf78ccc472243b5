"""Enqueued ops and the table of tensor handles ``(op_id, output_num)`` a context holds.

An ``OpNode`` is created on the event loop when its item is validated, executed in a
worker thread, and finished back on the loop. Its inputs point at the producing nodes,
not at table entries, so releasing a handle never frees a tensor a queued op still needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import EagerError, InvalidArgumentError, ResourceExhaustedError
from .kernels import KernelSpec, TensorSpec
from .memory import MemoryQuota, array_bytes, outputs_bytes, quota_of_thread
from .op_env import OpKernel
from .records import HandleRef

__all__ = ["HandleTable", "NodeInput", "OpNode"]

logger = logging.getLogger(__name__)

NodeInput = tuple["OpNode", int] | np.ndarray
"""Output ``i`` of another node, or a tensor sent inline."""

# NumPy raises these for inputs a shape function could not rule out; they are the
# caller's fault, not ours.
_CALLER_ERRORS = (ValueError, TypeError, IndexError, ArithmeticError)
_MAX_DISCARDED = 10_000
_UNKNOWN_SIZE = 1 << 62


class OpNode:
    """One op of a context: inputs, inferred output specs, and (once run) outputs or error."""

    __slots__ = (
        "_waiter",
        "attrs",
        "charged",
        "error",
        "finished",
        "inputs",
        "kernel",
        "live",
        "name",
        "op_id",
        "outputs",
        "quota",
        "specs",
    )

    def __init__(
        self,
        op_id: int,
        name: str,
        kernel: OpKernel | None,
        attrs: Mapping[str, Any],
        inputs: Sequence[NodeInput],
        specs: Sequence[TensorSpec],
        quota: MemoryQuota | None = None,
    ) -> None:
        self.op_id = op_id
        self.name = name
        self.kernel = kernel
        self.attrs = attrs
        self.inputs = tuple(inputs)
        self.specs = tuple(specs)
        self.outputs: list[np.ndarray] | None = None
        self.error: EagerError | None = None
        self.live = 0
        self.finished = False  # see finish()
        self._waiter: asyncio.Future[None] | None = None
        # Bytes of the outputs held against ``quota`` (given back when the node goes).
        self.quota = quota
        self.charged = 0

    def __del__(self) -> None:
        if self.charged and self.quota is not None:
            self.quota.release(self.charged)

    @classmethod
    def constant(
        cls,
        op_id: int,
        name: str,
        arrays: Sequence[np.ndarray],
        quota: MemoryQuota | None = None,
    ) -> OpNode:
        """A node that is done from the start (a sent tensor), its arrays held against
        ``quota`` (RESOURCE_EXHAUSTED when they do not fit)."""
        specs = [TensorSpec(a.dtype, a.shape, a) for a in arrays]
        node = cls(op_id, name, None, {}, (), specs, quota)
        if quota is not None:
            sizes = [array_bytes(array) for array in arrays]
            for size in sizes:
                quota.check_tensor(size, node.describe())
            quota.reserve(sum(sizes), node.describe())
            node.charged = sum(sizes)
        node.outputs = list(arrays)
        node.finished = True
        return node

    @property
    def done(self) -> bool:
        """Whether the node has outputs or an error."""
        return self.outputs is not None or self.error is not None

    def describe(self) -> str:
        """``AddV2 (op id 7)``, the prefix of every error about this node."""
        return f"{self.name} (op id {self.op_id})"

    def spec(self, index: int) -> TensorSpec:
        """Output ``index``'s spec, with its value once ``finish()`` has seen it computed."""
        return self.specs[index]

    def cheap(self, max_elements: int) -> bool:
        """Whether running this op surely takes microseconds: a stateless op of the
        registry (no function, no context it could wait on) whose inputs and outputs
        have known shapes of at most ``max_elements`` elements in all."""
        kernel = self.kernel
        if not isinstance(kernel, KernelSpec) or kernel.needs_env or kernel.stateful:
            return False
        elements = 0
        for spec in self.specs:
            elements += _elements(spec)
        for source in self.inputs:
            if isinstance(source, np.ndarray):
                elements += source.size if source.dtype.kind != "O" else _UNKNOWN_SIZE
            else:
                elements += _elements(source[0].specs[source[1]])
        return elements <= max_elements

    def execute(self) -> None:
        """Run the kernel (in a worker thread); never raises, records the error instead."""
        try:
            args = [self._argument(i, source) for i, source in enumerate(self.inputs)]
            assert self.kernel is not None
            self._reserve(args)
            quota_of_thread(self.quota)
            try:
                outputs = self.kernel.run(args, self.attrs)
            finally:
                quota_of_thread(None)
            if len(outputs) != len(self.specs):
                raise EagerError(
                    f"kernel returned {len(outputs)} outputs, its shape function promised "
                    f"{len(self.specs)}"
                )
            self.outputs = outputs
            if self.quota is not None:  # what it made, in place of the estimate
                made = outputs_bytes(outputs, args)
                if made != self.charged:  # the estimate is usually exact: no lock then
                    self.quota.adjust(made - self.charged)
                    self.charged = made
        except EagerError as error:
            self.fail(error)
        except MemoryError:
            self.fail(ResourceExhaustedError(
                "OOM when allocating the outputs: the worker's memory cannot hold them"
            ))  # fmt: skip
        except _CALLER_ERRORS as error:
            self.fail(InvalidArgumentError(str(error)))
        except Exception as error:
            logger.exception("kernel %s failed unexpectedly", self.describe())
            self.fail(EagerError(f"internal error: {error!r}"))
        if self.error is not None and self.charged and self.quota is not None:
            self.quota.release(self.charged)  # nothing was made: the estimate goes back
            self.charged = 0

    def _reserve(self, args: Sequence[np.ndarray]) -> None:
        """Hold the outputs' bytes before the kernel makes them, from the specs inferred
        at enqueue time or, where those left a dim unknown, from the shape rule given the
        inputs themselves (Fill's dims, Range's limits)."""
        if self.quota is None:
            return
        specs = self.specs
        if isinstance(self.kernel, KernelSpec) and any(
            spec.shape is None or -1 in spec.shape for spec in specs
        ):
            known = [TensorSpec(a.dtype, a.shape, a) for a in args]
            specs = tuple(self.kernel.shapes(known, self.attrs))
        # Tensors sent inline with the op live as long as it does: they count too.
        inline = [TensorSpec(a.dtype, a.shape) for a in self.inputs if isinstance(a, np.ndarray)]
        nbytes = self.quota.reserve_specs((*specs, *inline), self.describe)
        self.charged = nbytes or 0

    def _argument(self, index: int, source: NodeInput) -> np.ndarray:
        if isinstance(source, np.ndarray):
            return source
        node, output = source
        if node.error is not None:
            raise type(node.error)(
                f"input {index} comes from {node.describe()}, which failed: {node.error.message}"
            )
        if node.outputs is None:
            raise EagerError(f"input {index} from {node.describe()} is not computed yet")
        return node.outputs[output]

    def fail(self, error: EagerError) -> None:
        """Record ``error``, prefixed with this node's name unless it already is."""
        prefix = self.describe()
        if not error.message.startswith(prefix):
            error = type(error)(f"{prefix}: {error.message}")
        self.error = error

    def finish(self) -> None:
        """Wake whoever waits for this node (on the event loop, after ``execute``)."""
        # Run: its inputs are no longer needed, and a producer whose handles are all
        # released may go.
        self.inputs = ()
        self.finished = True
        if self.outputs is not None:
            # Shape functions of later ops may read the values (Reshape's shape, ...).
            self.specs = tuple(TensorSpec(out.dtype, out.shape, out) for out in self.outputs)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self) -> None:
        """Wait until the node is finished: done, and its context told (a failure noted
        as such before anyone waiting hears of it)."""
        if self.finished:
            return
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._waiter)


def _elements(spec: TensorSpec) -> int:
    """Elements of a tensor of ``spec``; more than any bound while a dim is unknown, or
    for strings (one element can be a gigabyte)."""
    count = spec.elements()
    return _UNKNOWN_SIZE if count is None or spec.dtype.kind == "O" else count


class HandleTable:
    """The live ops of a context, keyed by op id, and which of their outputs are still held.

    An op stays while any output handle is live, or while it is pending, so a duplicate
    op id can be rejected and WaitQueueDone can find it.
    """

    def __init__(self) -> None:
        self._ops: dict[int, OpNode] = {}
        # Ops of a sync request that failed or never ran: their handles were never
        # registered, but TF's client decrefs them all the same, and TF accepts that.
        self._discarded: OrderedDict[int, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ops)

    def get(self, op_id: int) -> OpNode | None:
        """The live or pending op ``op_id``, if any."""
        return self._ops.get(op_id)

    def add(self, node: OpNode, live: Iterable[int] | None = None) -> None:
        """Register ``node``'s outputs (those numbered ``live``; all by default) as
        handles; a live op id is rejected."""
        if node.op_id in self._ops:
            raise InvalidArgumentError(
                f"Duplicate op id {node.op_id}: an op with that id is still live in this "
                "context. Use a fresh id, or release the old handles first."
            )
        if live is None:
            node.live = (1 << len(node.specs)) - 1
        else:
            node.live = sum(1 << n for n in set(live))
        self._ops[node.op_id] = node
        self._discarded.pop(node.op_id, None)

    def resolve(self, ref: HandleRef) -> tuple[OpNode, int]:
        """The node and output index ``ref`` names; INVALID_ARGUMENT like TF when unknown."""
        node = self._ops.get(ref.op_id)
        if node is None or not (ref.output_num >= 0 and node.live >> ref.output_num & 1):
            raise InvalidArgumentError(
                "Unable to find the relevant tensor remote_handle: "
                f"Op ID: {ref.op_id}, Output num: {ref.output_num}. It was never created, "
                "was released, or its op failed."
            )
        return node, ref.output_num

    def release(self, ref: HandleRef) -> None:
        """Drop a handle; the op goes once no output is held and it has finished. A
        handle of an op that failed in a sync request is already gone: nothing to do."""
        if ref.op_id not in self._ops and ref.op_id in self._discarded:
            return
        node, output = self.resolve(ref)
        node.live &= ~(1 << output)
        self.settle(node)

    def settle(self, node: OpNode) -> None:
        """Forget ``node`` if it is done and holds no live handle."""
        if node.live == 0 and node.done and self._ops.get(node.op_id) is node:
            del self._ops[node.op_id]

    def discard(self, node: OpNode) -> None:
        """Forget ``node`` and all its handles (a sync op that failed or never ran)."""
        if self._ops.get(node.op_id) is node:
            del self._ops[node.op_id]
            self.forget([node.op_id])

    def forget(self, op_ids: Iterable[int]) -> None:
        """Note ops whose handles were never registered (their request failed), so that
        releasing those handles is no error."""
        for op_id in op_ids:
            if op_id not in self._ops:
                self._discarded[op_id] = None
                if len(self._discarded) > _MAX_DISCARDED:
                    self._discarded.popitem(last=False)

    def clear(self) -> list[OpNode]:
        """Forget everything; returns the nodes that were held."""
        nodes = list(self._ops.values())
        self._ops.clear()
        return nodes
