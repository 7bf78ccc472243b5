"""A RecvTensor reply read by hand (``eager_async.recv_tensor_reply``): what TF's worker
and ours write decodes to the same array, large tensors as views, bad bytes as DATA_LOSS."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from eager_async import recv_tensor_reply, upb
from eager_async.errors import DataLossError
from eager_async.recv_tensor_reply import decode_recv_tensor_response
from eager_async.tensors import encode_tensor
from eager_async.wire import encode_recv_tensor_response


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.array([True, False]),
    np.array([b"a", b"", b"ccc"], dtype=object),  # strings: the general decoder
    np.zeros((0, 5), np.int64),
    np.float64(2.5),
])
def test_our_replies_decode_to_the_array(array: np.ndarray) -> None:
    tensor, dead = decode_recv_tensor_response(encode_recv_tensor_response(array, 7))
    assert not dead and tensor is not None
    assert tensor.dtype == array.dtype and tensor.shape == array.shape
    np.testing.assert_array_equal(tensor, array)


def test_a_reply_as_protobuf_writes_it_decodes_the_same() -> None:
    # TF's worker writes typed values (float_val) for small tensors, and is_dead.
    reply = upb.RecvTensorResponse(send_start_micros=3)
    reply.tensor.CopyFrom(upb.TensorProto.FromString(bytes(encode_tensor(np.float32(1.5)))))
    tensor, dead = decode_recv_tensor_response(reply.SerializeToString())
    assert tensor == np.float32(1.5) and not dead
    reply.tensor.ClearField("tensor_content")
    reply.tensor.float_val.extend([4.0])
    tensor, _ = decode_recv_tensor_response(reply.SerializeToString())
    assert tensor == np.float32(4)
    tensor, dead = decode_recv_tensor_response(upb.RecvTensorResponse(is_dead=True)
                                               .SerializeToString())
    assert tensor is None and dead


def test_a_large_tensor_is_a_view_of_the_reply() -> None:
    data = encode_recv_tensor_response(np.ones(1 << 20, np.float32), 0)
    tensor, _ = decode_recv_tensor_response(data)
    assert tensor is not None and not tensor.flags.owndata and not tensor.flags.writeable


@pytest.mark.parametrize("data", [b"\x0a\x05\x08", b"\x0a", b"\xff", b"\x0b"])
def test_bytes_that_are_not_a_reply_are_data_loss(data: bytes) -> None:
    with pytest.raises(DataLossError):
        decode_recv_tensor_response(data)


def test_doctests() -> None:
    assert doctest.testmod(recv_tensor_reply).failed == 0
