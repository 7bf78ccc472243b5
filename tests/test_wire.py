"""The hot path's codec: upb requests -> records, results -> EnqueueResponse bytes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from eager_async import upb
from eager_async.pieces import Pieces
from eager_async.records import DecrefItem, HandleRef, InvalidItem, OpItem, QueueResult
from eager_async.tensors import decode_tensor
from eager_async.wire import decode_items, encode_results, encode_tensor_bytes

VECTORS = Path(__file__).parent / "vectors"  # TF 2.21's bytes, vendored


def cpp_records() -> list[dict[str, object]]:
    path = VECTORS / "tensors.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in records if str(r["name"]).endswith("_cpp")]


@pytest.mark.parametrize("record", cpp_records(), ids=lambda r: str(r["name"]))
def test_tensor_bytes_equal_tensorflows_cpp_encoding(record: dict[str, object]) -> None:
    """TF's C++ side (a worker's replies) writes these bytes; so must we."""
    proto = upb.TensorProto.FromString(bytes.fromhex(str(record["proto_hex"])))
    array = decode_tensor(proto)
    if record["dtype"] == "DT_STRING":
        assert [bytes(x) for x in array.flat] == [base64.b64decode(v)
                                                   for v in record["values_b64"]]  # type: ignore[attr-defined]
        # TF's serialize_tensor writes strings in string_val, as we do.
    assert encode_tensor_bytes(array) == bytes.fromhex(str(record["proto_hex"]))


ARRAYS = [
    np.arange(6, dtype=np.float32).reshape(2, 3),
    np.array(b"x", dtype=object),
    np.array([b"", b"\x00\xff", "héllo".encode()], dtype=object),
    np.zeros((0, 3), np.int64),
    np.arange(4, dtype=">i4"),                                   # big-endian
    np.arange(12, dtype=np.int16).reshape(3, 4).T,                # not contiguous
    np.ones(3, ml_dtypes.bfloat16),
    np.array(True),
    np.array(1 + 2j, np.complex64),
    np.array([np.nan, -0.0, np.inf], np.float16),
]


def test_results_round_trip_through_protobuf() -> None:
    results = [
        QueueResult(shapes=((2,), ())),
        QueueResult(tensors=tuple(ARRAYS)),
        QueueResult(shapes=(None, (-1, 3), (0,))),
        QueueResult(),
    ]
    encoded = encode_results(results)
    assert isinstance(encoded, Pieces)  # tensors: written from views, not joined
    reply = upb.EnqueueResponse.FromString(encoded.join())
    assert len(reply.queue_response) == 4
    first, fetched, unknown, empty = reply.queue_response
    assert [[d.size for d in s.dim] for s in first.shape] == [[2], []]
    for expected, tensor in zip(ARRAYS, fetched.tensor, strict=True):
        got = decode_tensor(tensor)
        assert got.shape == expected.shape
        assert got.dtype == expected.dtype.newbyteorder("=")
        if expected.dtype.kind == "O":
            assert list(got.flat) == list(expected.flat)
        else:
            assert got.tobytes() == expected.astype(got.dtype).tobytes()
        assert tensor.SerializeToString() == encode_tensor_bytes(expected)
    assert unknown.shape[0].unknown_rank
    assert [d.size for d in unknown.shape[1].dim] == [-1, 3]
    assert [d.size for d in unknown.shape[2].dim] == [0]
    assert empty.SerializeToString() == b""


def test_decoding_items_and_per_item_errors() -> None:
    request = upb.EnqueueRequest(context_id=1)
    op = request.queue.add().operation
    op.id, op.name = 7, "AddV2"
    op.attrs["T"].type = 1
    op.op_inputs.add().remote_handle.op_id = 3
    op.op_inputs.add().tensor.CopyFrom(upb.TensorProto.FromString(
        encode_tensor_bytes(np.float32(2))))
    request.queue.add()                                   # empty item
    request.queue.add().handle_to_decref.op_id = 3
    seed = request.queue.add().operation
    seed.id, seed.name = 8, "Neg"
    seed.inputs.add(op_id=7, output_num=0, op_device="/device:CPU:0")
    items = decode_items(request.queue)
    first, empty, decref, seed_op = items
    assert isinstance(first, OpItem)
    assert first.attrs == {"T": np.dtype(np.float32)}
    assert first.inputs[0] == HandleRef(3, 0, "")
    assert first.inputs[1] == np.float32(2)  # type: ignore[comparison-overlap]
    assert isinstance(empty, InvalidItem) and "queue item 1" in empty.error.message
    assert decref == DecrefItem(HandleRef(3, 0, ""))
    assert isinstance(seed_op, OpItem) and seed_op.inputs == (HandleRef(7, 0, "/device:CPU:0"),)
