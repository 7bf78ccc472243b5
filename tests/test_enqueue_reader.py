"""The Enqueue reader agrees with the general decoder on every request it accepts, and
declines (returns None) the ones it does not take."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from eager_async import upb
from eager_async.bench import workloads
from eager_async.enqueue_reader import read_enqueue
from eager_async.errors import EagerError
from eager_async.limits import Limits
from eager_async.records import DecrefItem, HandleRef, OpItem, SendTensorItem
from eager_async.strict import parse_strictly
from eager_async.wire import decode_items

DEVICE = "/job:worker/replica:0/task:0/device:CPU:0"
INT64 = st.integers(-(2**63), 2**63 - 1)


def general(payload: bytes) -> tuple[int, list[Any]] | None:
    """What the strict, general decoder makes of ``payload`` (None: it refuses it)."""
    try:
        request = parse_strictly(upb.EnqueueRequest, payload, "Enqueue")
    except EagerError:
        return None
    return request.context_id, decode_items(request.queue)


def _handle(message: Any, op_id: int, output_num: int, device: str, op_device: str) -> None:
    message.op_id = op_id
    message.output_num = output_num
    message.device = device
    message.op_device = op_device
    message.dtype = 1


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    request = upb.EnqueueRequest(context_id=draw(st.integers(0, 2**64 - 1)))
    for _ in range(draw(st.integers(0, 4))):
        item = request.queue.add()
        kind = draw(st.sampled_from(["op", "op", "decref", "send"]))
        if kind == "decref":
            _handle(item.handle_to_decref, draw(INT64), draw(st.integers(-(2**31), 2**31 - 1)),
                    draw(st.sampled_from(["", DEVICE])), draw(st.sampled_from(["", DEVICE])))
            continue
        if kind == "send":
            item.send_tensor.op_id = draw(INT64)
            item.send_tensor.device_name = draw(st.sampled_from(["", DEVICE]))
            for _ in range(draw(st.integers(0, 2))):
                if draw(st.booleans()):
                    item.send_tensor.tensors.add(dtype=1, float_val=[1.0])
                    continue
                dims = draw(st.lists(st.integers(0, 3), max_size=2))
                tensor = item.send_tensor.tensors.add(dtype=draw(st.sampled_from([1, 3, 9])))
                tensor.tensor_shape.SetInParent()
                for size in dims:
                    tensor.tensor_shape.dim.add(size=size)
                count = int(np.prod(dims)) + draw(st.sampled_from([0, 0, 1]))
                tensor.tensor_content = bytes(range(count * 8))[: count * draw(
                    st.sampled_from([4, 8]))]
            continue
        op = item.operation
        op.id = draw(INT64)
        op.name = draw(st.sampled_from(["AddV2", "Identity", "", "Ünïcode"]))
        op.device = draw(st.sampled_from(["", DEVICE]))
        op.func_step_id = draw(st.sampled_from([0, 5, -1]))
        op.control_op_ids.extend(draw(st.lists(INT64, max_size=2)))
        for key in draw(st.lists(st.sampled_from(["T", "N", "shape", "bad"]), max_size=3)):
            value = op.attrs[key]
            if key == "T":
                value.type = 1
            elif key == "N":
                value.i = draw(st.integers(-5, 5))
            elif key == "shape":
                value.shape.dim.add(size=draw(st.integers(-1, 3)))
        for _ in range(draw(st.integers(0, 3))):
            op_input = op.op_inputs.add()
            if draw(st.booleans()):
                _handle(op_input.remote_handle, draw(INT64), draw(st.integers(0, 3)),
                        draw(st.sampled_from(["", DEVICE])), DEVICE)
            else:
                op_input.tensor.dtype = 1
                op_input.tensor.float_val.append(2.0)
        for _ in range(draw(st.integers(0, 1))):
            _handle(op.inputs.add(), draw(INT64), 0, DEVICE, DEVICE)
    payload: bytes = request.SerializeToString()
    # Corrupt some: a flipped byte, a cut, a byte appended.
    mutation = draw(st.sampled_from(["none", "none", "flip", "cut", "append"]))
    if payload and mutation == "flip":
        at = draw(st.integers(0, len(payload) - 1))
        payload = payload[:at] + bytes([draw(st.integers(0, 255))]) + payload[at + 1 :]
    elif payload and mutation == "cut":
        payload = payload[: draw(st.integers(0, len(payload) - 1))]
    elif mutation == "append":
        payload += bytes([draw(st.integers(0, 255))])
    return payload


def same(read: tuple[int, list[Any]], expected: tuple[int, list[Any]] | None) -> bool:
    """Equal records, sent tensors compared by dtype, shape and value."""
    if expected is None or read[0] != expected[0] or len(read[1]) != len(expected[1]):
        return False
    for mine, theirs in zip(read[1], expected[1], strict=True):
        if isinstance(mine, SendTensorItem):
            if not isinstance(theirs, SendTensorItem) or (mine.op_id, mine.device) != (
                    theirs.op_id, theirs.device) or len(mine.tensors) != len(theirs.tensors):
                return False
            if not all(a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
                       for a, b in zip(mine.tensors, theirs.tensors, strict=True)):
                return False
        elif mine != theirs:
            return False
    return True


@settings(max_examples=300)
@given(requests())
def test_what_the_reader_accepts_it_reads_as_the_general_decoder(payload: bytes) -> None:
    read = read_enqueue(payload)
    if read is not None:
        assert same(read, general(payload))


def test_the_requests_clients_send_are_read() -> None:
    body = workloads.enqueue_head(7) + workloads.tiny_bodies(ops=3, k=3)[0]
    read = read_enqueue(body)
    assert read is not None and read == general(body)
    context_id, items = read
    assert context_id == 7
    assert [item.op_id for item in items if isinstance(item, OpItem)] == [2, 3, 4]
    assert items[0].inputs == (HandleRef(1, 0, workloads.DEVICE),) * 2
    assert dict(items[0].attrs) == {"T": np.dtype(np.float32)}

    release = upb.EnqueueRequest(context_id=7)
    _handle(release.queue.add().handle_to_decref, 2, 0, "", DEVICE)
    assert read_enqueue(release.SerializeToString()) == (7, [DecrefItem(HandleRef(2, 0, DEVICE))])


def test_a_sent_tensor_is_read() -> None:
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    body = workloads.enqueue_head(7) + workloads.send_body(5, values)
    read = read_enqueue(body)
    assert read is not None and same(read, general(body))
    (item,) = read[1]
    assert isinstance(item, SendTensorItem) and item.op_id == 5
    (tensor,) = item.tensors
    np.testing.assert_array_equal(tensor, values)
    assert tensor.dtype == np.float32


def test_a_sent_tensor_over_the_limits_is_left_to_the_general_decoder() -> None:
    body = workloads.enqueue_head(7) + workloads.send_body(5, np.zeros(1000, np.float32))
    assert read_enqueue(body, Limits(max_tensor_bytes=100)) is None


def test_what_the_reader_does_not_take_it_declines() -> None:
    inline = upb.EnqueueRequest(context_id=7)
    op = inline.queue.add().operation
    op.id, op.name = 2, "Identity"
    op.op_inputs.add().tensor.float_val.append(1.0)
    assert read_enqueue(inline.SerializeToString()) is None  # an inline tensor
    assert general(inline.SerializeToString()) is not None

    unknown = upb.EnqueueRequest(context_id=7).SerializeToString() + b"\x78\x01"  # field 15
    assert read_enqueue(unknown) is None
    assert general(unknown) == (7, [])  # skipped by protobuf, as the general decoder does

    nameless = upb.EnqueueRequest(context_id=7)
    nameless.queue.add().operation.id = 3
    assert read_enqueue(nameless.SerializeToString()) is None  # the general way says why
    (item,) = general(nameless.SerializeToString())[1]  # type: ignore[index]
    assert "has no op name" in item.error.message

    bad_utf8 = workloads.enqueue_head(7) + workloads.tiny_bodies(ops=1, k=1)[0].replace(
        b"AddV2", b"Add\xff2")
    assert read_enqueue(bad_utf8) is None and general(bad_utf8) is None

    wrong_wire_type_in_attr = workloads.tiny_bodies(ops=1, k=1)[0].replace(
        b"\x2a\x07\x0a\x01T\x12\x02\x30\x01", b"\x2a\x07\x0a\x01T\x12\x02\x31\x01")
    assert wrong_wire_type_in_attr != workloads.tiny_bodies(ops=1, k=1)[0]
    assert read_enqueue(wrong_wire_type_in_attr) is None
    assert general(wrong_wire_type_in_attr) is None
