"""Multi-device iterators (tf.data's MultiDeviceIterator, under tf.distribute's per-worker
datasets): one pass over a dataset whose elements are dealt round-robin to shards, one
shard per device.

AnonymousMultiDeviceIteratorV3 (AnonymousMultiDeviceIterator, with a deleter;
MultiDeviceIterator, shared by name) makes the resource. MultiDeviceIteratorInit starts a
pass over a dataset and returns its incarnation id: 1, 2, ... per resource, so a new init
starts over and retires the id before it. MultiDeviceIteratorGetNextFromShard(shard, id)
gives shard ``shard`` its next element: element k goes to shard k % len(devices), as in
TF's MultiDeviceBuffer, an element that failed (its map function raised) is that
shard's error in its turn, and once the dataset is exhausted each shard reads
OUT_OF_RANGE "End of sequence" after its own elements.

TF's client reaches the resource from the per-device datasets (GeneratorDataset, whose
functions RemoteCall the source device) through its string handle: a serialized
``ResourceHandleProto`` naming this worker's CPU (MultiDeviceIteratorToStringHandle and
MultiDeviceIteratorFromStringHandle), found only from the context that made it. Like TF's
ref-counted handles, an anonymous resource (AnonymousMultiDeviceIterator[V3]) lives as
long as a handle to it and deleting it does nothing. DeleteMultiDeviceIterator deletes one
MultiDeviceIterator made (its later uses are NOT_FOUND); shared by name, it lives in its
context until then, and with TF's anonymous name as long as a handle to it.

Where TF would hang or crash this worker answers instead:

- nothing is prefetched: a shard's read pulls the elements in front of its own from the
  dataset, and other shards' elements wait in their buffers however many there are (TF's
  ``max_buffer_size`` bounds its background prefetch, and a shard that reads that far
  ahead of another waits for it forever);
- a read before MultiDeviceIteratorInit is FAILED_PRECONDITION and a shard number out of
  range INVALID_ARGUMENT (TF's worker crashes on both);
- a read checks the element against its output_types and output_shapes (TF hands out
  mislabelled tensors).

>>> from eager_async.kernels.data.source_ops import RangeDataset
>>> md = MultiDeviceIteratorResource([b"/cpu:0", b"/cpu:0"], [INT64], [()],
...                                  container="Anonymous", name="md", device="/cpu:0")
>>> incarnation = md.init(RangeDataset(0, 3, 1, INT64))
>>> [md.next_from_shard(shard, incarnation) for shard in (1, 0, 0, 1)]
[(array(1),), (array(0),), (array(2),), None]
"""

from __future__ import annotations

import itertools
import weakref
from collections import deque
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from ...errors import (
    EagerError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
)
from ...upb import message_class
from ..registry import no_outputs, op
from ..specs import Shape, TensorSpec
from .datasets import (
    INT64,
    Dataset,
    Element,
    Iterator,
    check_element,
    check_structure,
    dataset_of,
    held,
    object_of,
    scalar,
    scalar_arg,
    variant,
)

__all__ = ["ANONYMOUS_NAME", "TYPE_HASH", "TYPE_NAME", "MultiDeviceIteratorResource"]

# What TF's handles of the resource say about its type (the C++ class of its kernels).
TYPE_NAME = "N10tensorflow4data12_GLOBAL__N_119MultiDeviceIteratorE"
TYPE_HASH = 16662786403704826828
_READABLE_TYPE = "tensorflow::data::(anonymous namespace)::MultiDeviceIterator"
ANONYMOUS_NAME = b"cd2c89b7-88b7-44c8-ad83-06c2a9158347"  # TF's ResourceHandle::ANONYMOUS_NAME

# Strict, as TF's C++ parser is (betterproto's would accept corrupt bytes).
_ResourceHandleProto = message_class("tensorflow.ResourceHandleProto")
_ids = itertools.count()
# (context id, container, name) -> resource, for string handles. Weak: a resource lives
# as long as a handle to it (or, shared by name, its context's entry).
_LIVE: weakref.WeakValueDictionary[tuple[int, str, str], MultiDeviceIteratorResource] = (
    weakref.WeakValueDictionary()
)


class _Pass:
    """One incarnation: the dataset's iterator and one buffer per shard."""

    def __init__(self, iterator: Iterator, shards: int, incarnation: int) -> None:
        self.iterator = iterator
        self.incarnation = incarnation
        self.buffers: list[deque[Element | EagerError]] = [deque() for _ in range(shards)]
        self.turn = 0  # the shard the next element goes to
        self.ended = False

    def next(self, shard: int) -> Element | None:
        buffer = self.buffers[shard]
        while not buffer and not self.ended:
            self._pull()
        if not buffer:
            return None
        item = buffer.popleft()
        if isinstance(item, EagerError):
            raise item
        return item

    def _pull(self) -> None:
        item: Element | EagerError
        try:
            element = self.iterator.next()
        except EagerError as error:
            item = error
        else:
            if element is None:
                self.ended = True
                return
            item = element
        self.buffers[self.turn].append(item)
        self.turn = (self.turn + 1) % len(self.buffers)


class MultiDeviceIteratorResource:
    """A multi-device iterator: the devices it deals to, the element structure it was
    made for, where its handles say it lives, and its current pass."""

    def __init__(
        self, devices: Sequence[bytes | str], types: Sequence[np.dtype], shapes: Sequence[Shape],
        *, container: str, name: str, device: str, context_id: int = 0,
    ) -> None:  # fmt: skip
        self.devices = tuple(_text(d) for d in devices)
        self.types, self.shapes = tuple(types), tuple(shapes)
        self.container, self.name, self.device = container, name, device
        self.context_id = context_id
        self.state: dict[Hashable, Any] | None = None  # the context's, when shared by name
        self.incarnation = 0
        self.deleted = False
        self._pass: _Pass | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        """Its key among the live resources: (context id, container, name)."""
        return self.context_id, self.container, self.name

    def init(self, dataset: Dataset) -> int:
        """Start a new pass over ``dataset``; its incarnation id."""
        check_structure(self.types, self.shapes, dataset.types, dataset.shapes)
        self.incarnation += 1
        self._pass = _Pass(dataset.iterate(), len(self.devices), self.incarnation)
        return self.incarnation

    def next_from_shard(self, shard: int, incarnation: int) -> Element | None:
        """Shard ``shard``'s next element of pass ``incarnation``; None at its end."""
        current = self._pass
        if current is None:
            raise FailedPreconditionError(
                "MultiDeviceIteratorGetNextFromShard: the multi-device iterator has not been "
                "initialized; run MultiDeviceIteratorInit on it first"
            )
        if incarnation != current.incarnation:
            raise InvalidArgumentError(
                f"Invalid incarnation id. Provided: {incarnation}; Expected: "
                f"{current.incarnation}"
            )
        if not 0 <= shard < len(self.devices):
            raise InvalidArgumentError(
                f"MultiDeviceIteratorGetNextFromShard: shard_num {shard} is out of range: "
                f"the iterator deals to {len(self.devices)} devices"
            )
        return current.next(shard)

    def delete(self) -> None:
        """Delete it as TF's DeleteResource does: nothing for an anonymous (ref-counted)
        one; any other leaves its context's kernel state and its later uses are
        NOT_FOUND."""
        if self.container == "Anonymous":
            return
        if self.deleted:
            raise NotFoundError(f"Resource {self.container}/{self.name}/<unknown> does not exist.")
        self.deleted = True
        _LIVE.pop(self.key, None)
        if self.state is not None:
            self.state.pop(_named(self.container, self.name), None)

    def string_handle(self) -> bytes:
        """Its handle as TF serializes it (a ``ResourceHandleProto``)."""
        proto = _ResourceHandleProto(device=self.device, container=self.container,
                                     name=self.name, hash_code=TYPE_HASH,
                                     maybe_type_name=TYPE_NAME)  # fmt: skip
        serialized: bytes = proto.SerializeToString()
        return serialized


class _Deleter:
    """What AnonymousMultiDeviceIterator's ``deleter`` holds."""


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _local_cpu(env: Any) -> str:
    job, task = env.cluster.local
    return f"/job:{job}/replica:0/task:{task}/device:CPU:0"


def _resource(op_name: str, handle: np.ndarray) -> MultiDeviceIteratorResource:
    resource = object_of(op_name, handle, MultiDeviceIteratorResource,
                         "a multi-device iterator (the output of "
                         "AnonymousMultiDeviceIteratorV3)")  # fmt: skip
    if resource.deleted:
        raise NotFoundError(
            f"Resource {resource.container}/{resource.name}/{TYPE_NAME} does not exist."
        )
    return resource


def _made(devices: list[bytes], types: list[np.dtype], shapes: list[Shape], env: Any,
          container: str, name: str = "") -> MultiDeviceIteratorResource:  # fmt: skip
    return MultiDeviceIteratorResource(devices, types, shapes, container=container, name=name,
                                       device=_local_cpu(env), context_id=env.context_id)


def _registered(resource: MultiDeviceIteratorResource) -> MultiDeviceIteratorResource:
    _LIVE[resource.key] = resource
    return resource


def _anonymous(devices: list[bytes], types: list[np.dtype], shapes: list[Shape],
               env: Any) -> np.ndarray:  # fmt: skip
    """A new ref-counted resource, named as TF names those."""
    resource = _made(devices, types, shapes, env, "Anonymous")
    resource.name = f"Resource-{next(_ids)}-at-0x{id(resource):x}"
    return variant(_registered(resource))


# --- making iterators -------------------------------------------------------------------


@op("AnonymousMultiDeviceIteratorV3", shape=scalar)
def anonymous_multi_device_iterator_v3(
    *, devices: list[bytes], output_types: list[np.dtype], output_shapes: list[Shape], env: Any
) -> np.ndarray:
    """A new multi-device iterator dealing to ``devices``."""
    return _anonymous(devices, output_types, output_shapes, env)


def _two_scalars(**attrs: Any) -> list[Shape]:
    return [(), ()]


@op("AnonymousMultiDeviceIterator", shape=_two_scalars)
def anonymous_multi_device_iterator(
    *, devices: list[bytes], output_types: list[np.dtype], output_shapes: list[Shape], env: Any
) -> tuple[np.ndarray, np.ndarray]:
    """A new multi-device iterator and its deleter."""
    return _anonymous(devices, output_types, output_shapes, env), variant(_Deleter())


@op("MultiDeviceIterator", shape=scalar)
def multi_device_iterator(
    *, devices: list[bytes], shared_name: bytes, container: bytes,
    output_types: list[np.dtype], output_shapes: list[Shape], env: Any,
) -> np.ndarray:  # fmt: skip
    """The multi-device iterator named ``shared_name`` in ``container``, made on first
    use; TF's anonymous name makes a new one each time."""
    if shared_name == ANONYMOUS_NAME:
        name = f"_AnonymousMultiDeviceIterator{next(_ids)}"
        made = _made(devices, output_types, output_shapes, env, "AnonymousMultiDeviceIterator",
                     name)  # fmt: skip
        return variant(_registered(made))
    # TF's default container is the task's job.
    place = _text(container) or env.cluster.local[0], _text(shared_name)
    found = env.state.get(_named(*place))
    if found is None:
        found = _registered(_made(devices, output_types, output_shapes, env, *place))
        found.state = env.state
        env.state[_named(*place)] = found
    else:
        check_structure(output_types, output_shapes, found.types, found.shapes)
    return variant(found)


def _named(container: str, name: str) -> Hashable:
    """The key of a resource shared by name among its context's kernel state."""
    return ("MultiDeviceIterator", container, name)


# --- passes and elements ----------------------------------------------------------------


@op("MultiDeviceIteratorInit", shape=scalar)
def multi_device_iterator_init(
    dataset: np.ndarray, multi_device_iterator: np.ndarray, max_buffer_size: np.ndarray
) -> np.ndarray:
    """Start a new pass over ``dataset``; its incarnation id (``max_buffer_size`` bounds
    TF's prefetching, which this worker does not do)."""
    source = dataset_of("MultiDeviceIteratorInit", dataset)
    resource = _resource("MultiDeviceIteratorInit", multi_device_iterator)
    return np.array(resource.init(source), dtype=INT64)


def _get_next_rule(handle: TensorSpec, shard_num: TensorSpec, incarnation_id: TensorSpec,
                   *, output_shapes: list[Shape]) -> list[Shape]:  # fmt: skip
    return list(output_shapes)


@op("MultiDeviceIteratorGetNextFromShard", shape=_get_next_rule)
def multi_device_iterator_get_next_from_shard(
    multi_device_iterator: np.ndarray, shard_num: np.ndarray, incarnation_id: np.ndarray, *,
    output_types: list[np.dtype], output_shapes: list[Shape],
) -> list[np.ndarray]:  # fmt: skip
    """Shard ``shard_num``'s next element; OUT_OF_RANGE "End of sequence" after its last."""
    resource = _resource("MultiDeviceIteratorGetNextFromShard", multi_device_iterator)
    element = resource.next_from_shard(
        scalar_arg("shard_num", shard_num), scalar_arg("incarnation_id", incarnation_id)
    )
    if element is None:
        raise OutOfRangeError("End of sequence")
    check_element(output_types, output_shapes, element)
    return list(element)


# --- string handles and deletion ---------------------------------------------------------


@op("MultiDeviceIteratorToStringHandle", shape=scalar)
def multi_device_iterator_to_string_handle(multi_device_iterator: np.ndarray) -> bytes:
    """The resource's handle as a string (a serialized ``ResourceHandleProto``)."""
    return _resource("MultiDeviceIteratorToStringHandle", multi_device_iterator).string_handle()


def _check_structure_attrs(types: list[np.dtype], shapes: list[Shape]) -> None:
    if types and shapes and len(types) != len(shapes):
        raise InvalidArgumentError(
            "If both 'output_types' and 'output_shapes' are set, they must have the same "
            "length."
        )


def _from_string_rule(string_handle: TensorSpec, *, output_types: list[np.dtype],
                      output_shapes: list[Shape]) -> Shape:  # fmt: skip
    _check_structure_attrs(output_types, output_shapes)
    if string_handle.shape not in (None, ()):
        raise InvalidArgumentError("string_handle must be a scalar")
    return ()


def _parse_handle(string_handle: np.ndarray) -> Any:
    text = held(string_handle)
    try:
        if not isinstance(text, bytes):
            raise DecodeError(f"a {type(text).__name__}, not bytes")
        return _ResourceHandleProto.FromString(text)
    except DecodeError:
        raise InvalidArgumentError(
            "Could not parse string_handle as a valid ResourceHandle"
        ) from None


@op("MultiDeviceIteratorFromStringHandle", shape=_from_string_rule)
def multi_device_iterator_from_string_handle(
    string_handle: np.ndarray, *, output_types: list[np.dtype], output_shapes: list[Shape],
    env: Any,
) -> np.ndarray:  # fmt: skip
    """The resource a string handle names; its structure must fit the attrs set."""
    _from_string_rule(TensorSpec(string_handle.dtype, string_handle.shape),
                      output_types=output_types, output_shapes=output_shapes)  # fmt: skip
    handle = _parse_handle(string_handle)
    here = _local_cpu(env)
    if handle.device != here:
        raise InvalidArgumentError(
            f'Attempted create an iterator on device "{here}" from handle defined on device '
            f'"{handle.device}"'
        )
    if handle.hash_code != TYPE_HASH:
        raise InvalidArgumentError(
            "Trying to access a handle's resource using the wrong type. The handle points to "
            f"a resource (name '{handle.name}') of type '{handle.maybe_type_name}' (hash code "
            f"{handle.hash_code}) but you are trying to access the resource as type "
            f"'{_READABLE_TYPE}' (hash code {TYPE_HASH})"
        )
    resource = _LIVE.get((env.context_id, handle.container, handle.name))
    if resource is None or resource.deleted:
        raise NotFoundError(
            f"Resource {handle.container}/{handle.name}/{TYPE_NAME} does not exist."
        )
    check_structure(output_types or resource.types, output_shapes or resource.shapes,
                    resource.types, resource.shapes)  # fmt: skip
    return variant(resource)


@op("DeleteMultiDeviceIterator", shape=no_outputs)
def delete_multi_device_iterator(
    multi_device_iterator: np.ndarray, iterators: list[np.ndarray], deleter: np.ndarray
) -> None:
    """Delete a resource shared by name (later uses are NOT_FOUND); anonymous ones live
    as long as a handle to them, as TF's ref-counted handles."""
    resource = object_of("DeleteMultiDeviceIterator", multi_device_iterator,
                         MultiDeviceIteratorResource, "a multi-device iterator")  # fmt: skip
    resource.delete()
