"""TensorProto <-> ndarray: TF's own bytes, round trips of every dtype, and every error."""

from __future__ import annotations

import base64
import json
import mmap
from pathlib import Path
from typing import Any

import hypothesis.extra.numpy as hnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eager_async._proto.tensorflow import (
    DataType,
    TensorProto,
    TensorShapeProto,
    TensorShapeProtoDim,
)
from eager_async.dtypes import from_numpy, to_numpy
from eager_async.errors import InvalidArgumentError
from eager_async.tensors import decode_shape, decode_tensor, encode_shape, encode_tensor

# Byte vectors TF 2.21 produced, vendored in the repo (see tests/vectors/README.md).
VECTORS = Path(__file__).parent / "vectors"
RECORDS: list[dict[str, Any]] = [
    json.loads(line) for line in (VECTORS / "tensors.jsonl").read_text().splitlines()
]


def record_params() -> list[Any]:
    return [pytest.param(record, id=record["name"]) for record in RECORDS]


# The spec of the typed fields, written out independently of the module under test.
TYPED_FIELD = {
    DataType.DT_HALF: "half_val",
    DataType.DT_BFLOAT16: "half_val",
    DataType.DT_FLOAT: "float_val",
    DataType.DT_DOUBLE: "double_val",
    DataType.DT_INT8: "int_val",
    DataType.DT_INT16: "int_val",
    DataType.DT_INT32: "int_val",
    DataType.DT_UINT8: "int_val",
    DataType.DT_UINT16: "int_val",
    DataType.DT_INT64: "int64_val",
    DataType.DT_UINT32: "uint32_val",
    DataType.DT_UINT64: "uint64_val",
    DataType.DT_BOOL: "bool_val",
    DataType.DT_COMPLEX64: "scomplex_val",
    DataType.DT_COMPLEX128: "dcomplex_val",
    DataType.DT_STRING: "string_val",
}
NP_DTYPES = [to_numpy(tf_dtype) for tf_dtype in TYPED_FIELD]


def expected_array(record: dict[str, Any]) -> np.ndarray:
    """The array a vector record stands for, from its values_hex / values_b64."""
    if record["dtype"] == "DT_STRING":
        strings = [base64.b64decode(value) for value in record["values_b64"]]
        return np.array(strings, dtype=object).reshape(record["shape"])
    name = record["numpy_dtype"]
    np_dtype = np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)
    raw = bytes.fromhex(record["values_hex"])
    return np.frombuffer(raw, dtype=np_dtype.newbyteorder("<")).reshape(record["shape"])


def assert_same(
    got: np.ndarray, expected: np.ndarray, *, nan_payloads_may_differ: bool = False
) -> None:
    """Same dtype, shape and bits (strings: same bytes elements)."""
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    if expected.dtype.kind == "O":
        assert all(type(element) is bytes for element in got.flat)
        assert got.tolist() == expected.tolist()
        return
    if nan_payloads_may_differ:
        # float32 and complex64 parts travel as Python floats, which may quiet a NaN payload.
        got_parts = got.reshape(-1).view(np.float32)
        expected_parts = expected.reshape(-1).view(np.float32)
        nan = np.isnan(expected_parts)
        assert np.array_equal(np.isnan(got_parts), nan)
        assert got_parts[~nan].tobytes() == expected_parts[~nan].tobytes()
        return
    assert got.tobytes() == expected.tobytes()


def round_trip(proto: TensorProto) -> np.ndarray:
    return decode_tensor(TensorProto.parse(bytes(proto)))


# --- TF's vectors ------------------------------------------------------------------------


def test_vector_file_is_whole() -> None:
    assert len(RECORDS) == 191
    assert len({record["name"] for record in RECORDS}) == len(RECORDS)


@pytest.mark.parametrize("record", record_params())
def test_decode_tf_vector(record: dict[str, Any]) -> None:
    got = decode_tensor(TensorProto.parse(bytes.fromhex(record["proto_hex"])))
    assert from_numpy(got.dtype).name == record["dtype"]
    assert_same(got, expected_array(record))


@pytest.mark.parametrize("record", record_params())
def test_encode_tf_vector(record: dict[str, Any]) -> None:
    expected = expected_array(record)
    proto = encode_tensor(expected)
    numeric_content = record["encoding"] == "tensor_content" and record["dtype"] != "DT_STRING"
    empty_shape = record["encoding"] == "empty" and expected.size == 0
    if numeric_content or empty_shape or record["encoding"] == "string_val":
        # Our choice of field is TF's here, so the bytes must be TF's too.
        assert bytes(proto).hex() == record["proto_hex"]
    assert_same(round_trip(proto), expected)


# --- Property tests -----------------------------------------------------------------------


def arrays_of(np_dtype: np.dtype) -> st.SearchStrategy[np.ndarray]:
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
    if np_dtype == np.dtype(ml_dtypes.bfloat16):
        # Hypothesis has no bfloat16; every bit pattern (NaNs included) comes from uint16.
        return hnp.arrays(np.uint16, shapes).map(lambda array: array.view(ml_dtypes.bfloat16))
    if np_dtype.kind == "O":
        return hnp.arrays(object, shapes, elements=st.binary(max_size=20))
    # from_dtype's floats include nan, inf, -0.0 and subnormals.
    return hnp.arrays(np_dtype, shapes)


def typed_proto(array: np.ndarray) -> TensorProto:
    """The array in its dtype's typed field, built the way TF's Python encoder does."""
    tf_dtype = from_numpy(array.dtype)
    flat = array.reshape(-1)
    values: list[Any]
    if tf_dtype in (DataType.DT_HALF, DataType.DT_BFLOAT16):
        values = flat.view(np.uint16).tolist()
    elif tf_dtype == DataType.DT_COMPLEX64:
        values = flat.view(np.float32).tolist()
    elif tf_dtype == DataType.DT_COMPLEX128:
        values = flat.view(np.float64).tolist()
    else:
        values = flat.tolist()
    proto = TensorProto(dtype=tf_dtype, tensor_shape=encode_shape(array.shape))
    setattr(proto, TYPED_FIELD[tf_dtype], values)
    return proto


PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.parametrize("np_dtype", NP_DTYPES, ids=str)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_content_round_trip_is_exact(np_dtype: np.dtype, data: st.DataObject) -> None:
    array = data.draw(arrays_of(np_dtype))
    assert_same(round_trip(encode_tensor(array)), array)


@pytest.mark.parametrize("np_dtype", NP_DTYPES, ids=str)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_typed_field_round_trip(np_dtype: np.dtype, data: st.DataObject) -> None:
    array = data.draw(arrays_of(np_dtype))
    single_precision = np_dtype in (np.dtype(np.float32), np.dtype(np.complex64))
    assert_same(round_trip(typed_proto(array)), array, nan_payloads_may_differ=single_precision)


# --- Decoding rules -----------------------------------------------------------------------


def test_content_is_decoded_without_a_copy() -> None:
    proto = encode_tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    array = decode_tensor(proto)
    base: Any = array
    while isinstance(base, np.ndarray):
        base = base.base
    assert base is proto.tensor_content
    assert not array.flags.writeable


def test_misaligned_content_is_copied_into_an_aligned_array() -> None:
    # bytes from a parsed message are always aligned; a buffer one byte in is not.
    content = memoryview(b"x" + np.arange(3, dtype="<f8").tobytes())[1:]
    proto = TensorProto(
        dtype=DataType.DT_DOUBLE,
        tensor_shape=encode_shape((3,)),
        tensor_content=content,  # type: ignore[arg-type]  # deliberately not bytes
    )
    array = decode_tensor(proto)
    assert array.flags.aligned
    assert array.tolist() == [0.0, 1.0, 2.0]


def test_a_large_misaligned_content_gets_pages_of_its_own() -> None:
    # From 1 MiB the aligned copy lives in an anonymous mapping, not a NumPy allocation
    # (which would ask for transparent huge pages).
    values = np.arange(1 << 18, dtype="<f4")
    content = memoryview(b"x" + values.tobytes())[1:]
    shape = encode_shape(values.shape)
    proto = TensorProto(dtype=DataType.DT_FLOAT, tensor_shape=shape, tensor_content=content)  # type: ignore[arg-type]
    array = decode_tensor(proto)
    assert array.flags.aligned
    base: Any = array
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)
    np.testing.assert_array_equal(array, values)


def test_fewer_typed_values_repeat_the_last() -> None:
    proto = TensorProto(
        dtype=DataType.DT_STRING, tensor_shape=encode_shape((3,)), string_val=[b"a", b"b"]
    )
    assert decode_tensor(proto).tolist() == [b"a", b"b", b"b"]
    proto = TensorProto(
        dtype=DataType.DT_COMPLEX64, tensor_shape=encode_shape((2, 2)), scomplex_val=[1, 2]
    )
    assert decode_tensor(proto).tolist() == [[1 + 2j, 1 + 2j], [1 + 2j, 1 + 2j]]


def test_no_values_mean_zeros_or_empty_strings() -> None:
    proto = TensorProto(dtype=DataType.DT_STRING, tensor_shape=encode_shape((2,)))
    assert_same(decode_tensor(proto), np.array([b"", b""], dtype=object))
    proto = TensorProto(dtype=DataType.DT_COMPLEX128, tensor_shape=encode_shape((2,)))
    assert_same(decode_tensor(proto), np.zeros(2, np.complex128))


def test_missing_shape_is_a_scalar() -> None:
    proto = TensorProto(dtype=DataType.DT_INT64, int64_val=[7])
    assert_same(decode_tensor(proto), np.array(7, dtype=np.int64))


def test_narrow_ints_wrap_like_tf() -> None:
    proto = TensorProto(dtype=DataType.DT_UINT8, tensor_shape=encode_shape((2,)), int_val=[-1, 256])
    assert decode_tensor(proto).tolist() == [255, 0]


def test_bool_content_bytes_other_than_one_are_true() -> None:
    proto = TensorProto(
        dtype=DataType.DT_BOOL, tensor_shape=encode_shape((3,)), tensor_content=b"\x00\x02\x01"
    )
    array = decode_tensor(proto)
    assert array.tolist() == [False, True, True]
    assert array.tobytes() == b"\x00\x01\x01"


def test_shapes() -> None:
    assert decode_shape(None) == ()
    assert decode_shape(TensorShapeProto()) == ()
    assert decode_shape(encode_shape(None)) is None
    assert decode_shape(encode_shape((0, -1, 3))) == (0, -1, 3)
    assert bytes(encode_shape(())) == b""
    assert bytes(encode_shape((0,))).hex() == "1200"


# --- Encoding choices ---------------------------------------------------------------------


def test_scalar_goes_to_content_with_a_present_empty_shape() -> None:
    # As the stock client's send_tensor does: the scalar 1.0 is tensor_content 0000803f.
    assert bytes(encode_tensor(np.float32(1.0))).hex() == "08011200" + "22040000803f"


def test_zero_size_dim_is_written_as_empty_dim() -> None:
    proto = encode_tensor(np.zeros((0, 3), np.float32))
    assert bytes(proto).hex() == "0801" + "1206" + "1200" + "12020803"


def test_big_endian_array_is_written_little_endian() -> None:
    array = np.arange(-3, 3, dtype=">i4").reshape(2, 3)
    proto = encode_tensor(array)
    assert proto.tensor_content == np.arange(-3, 3, dtype="<i4").tobytes()
    assert decode_tensor(proto).tolist() == array.tolist()


def test_non_contiguous_array_is_written_in_c_order() -> None:
    array = np.arange(24, dtype=np.complex128).reshape(4, 6)[::2, 1::2].T
    assert not array.flags.c_contiguous
    assert_same(round_trip(encode_tensor(array)), np.ascontiguousarray(array))


def test_str_elements_are_utf8_encoded() -> None:
    proto = encode_tensor(np.array(["héllo", b"\xff"], dtype=object))
    assert proto.string_val == ["héllo".encode(), b"\xff"]


# --- Errors -------------------------------------------------------------------------------


def shaped(dtype: int, shape: tuple[int, ...] | None, **fields: Any) -> TensorProto:
    return TensorProto(dtype=DataType(dtype), tensor_shape=encode_shape(shape), **fields)


@pytest.mark.parametrize(
    ("proto", "fragment"),
    [
        pytest.param(
            shaped(DataType.DT_FLOAT, (2, 3), tensor_content=bytes(20)),
            "tensor_content of a DT_FLOAT tensor of shape [2, 3] has 20 bytes; expected 24",
            id="content-too-short",
        ),
        pytest.param(
            shaped(DataType.DT_INT64, (1,), tensor_content=bytes(9)),
            "has 9 bytes; expected 8 (1 elements of 8 bytes)",
            id="content-too-long",
        ),
        pytest.param(
            shaped(DataType.DT_FLOAT, (-1, 3)),
            "shape [-1, 3] is not fully known; every dim of a TensorProto must be >= 0",
            id="unknown-dim",
        ),
        pytest.param(
            shaped(DataType.DT_FLOAT, None),
            "shape <unknown rank> is not fully known",
            id="unknown-rank",
        ),
        pytest.param(
            shaped(DataType.DT_FLOAT, (3,), float_val=[1, 2, 3, 4]),
            "float_val of a DT_FLOAT tensor of shape [3] has 4 values for 3 elements",
            id="too-many-floats",
        ),
        pytest.param(
            shaped(DataType.DT_STRING, (), string_val=[b"a", b"b"]),
            "string_val of a DT_STRING tensor of shape [] has 2 values for 1 elements",
            id="too-many-strings",
        ),
        pytest.param(
            shaped(DataType.DT_COMPLEX64, (2,), scomplex_val=[1, 2, 3]),
            "scomplex_val of a DT_COMPLEX64 tensor of shape [2] has 3 numbers",
            id="half-a-complex",
        ),
        pytest.param(
            shaped(DataType.DT_VARIANT, ()),
            "DT_VARIANT is not supported by eager_async yet",
            id="variant",
        ),
        pytest.param(
            shaped(DataType.DT_RESOURCE, ()),
            "DT_RESOURCE is not supported by eager_async yet",
            id="resource",
        ),
        pytest.param(TensorProto.parse(bytes.fromhex("1200")), "DT_INVALID", id="dtype-unset"),
        pytest.param(
            TensorProto.parse(bytes.fromhex("08e707" + "1200")),
            "dtype 999 is not a TensorFlow DataType",
            id="dtype-999",
        ),
        pytest.param(
            shaped(DataType.DT_INT8, (2**31, 2**31, 2**31), int_val=[1]),
            "has 9903520314283042199192993792 elements of 1 bytes, over the",
            id="element-count-overflow",
        ),
        pytest.param(
            shaped(DataType.DT_STRING, (2**40, 2**40), tensor_content=b"\x00"),
            "elements of 8 bytes, over the",
            id="string-count-overflow",
        ),
        pytest.param(
            shaped(DataType.DT_STRING, (1,), tensor_content=b"\x80"),
            "truncated or overlong varint32 length for element 0",
            id="string-truncated-varint",
        ),
        pytest.param(
            shaped(DataType.DT_STRING, (1,), tensor_content=b"\xff\xff\xff\xff\xff\x01"),
            "truncated or overlong varint32 length for element 0",
            id="string-overlong-varint",
        ),
        pytest.param(
            shaped(DataType.DT_STRING, (3,), tensor_content=b"\x01\x01"),
            "truncated or overlong varint32 length for element 2; expected 3 lengths",
            id="string-missing-lengths",
        ),
        pytest.param(
            shaped(DataType.DT_STRING, (2,), tensor_content=b"\x02\x03abcd"),
            "lengths adding up to 5 bytes, but 4 bytes follow them",
            id="string-truncated-bytes",
        ),
        pytest.param(
            shaped(DataType.DT_STRING, (1,), tensor_content=b"\x01ab"),
            "lengths adding up to 1 bytes, but 2 bytes follow them",
            id="string-extra-bytes",
        ),
        pytest.param(
            shaped(DataType.DT_STRING, (0,), tensor_content=b"\x00"),
            "lengths adding up to 0 bytes, but 1 bytes follow them",
            id="string-content-for-no-elements",
        ),
    ],
)
def test_decode_errors(proto: TensorProto, fragment: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        decode_tensor(proto)
    assert fragment in caught.value.message


def test_dims_below_minus_one_are_refused() -> None:
    bad = TensorShapeProto.parse(bytes.fromhex("120b08fbffffffffffffffff01"))  # dim -5
    with pytest.raises(InvalidArgumentError, match=r"shape \[-5\] has dim -5"):
        decode_shape(bad)
    with pytest.raises(InvalidArgumentError, match=r"shape \[-5\] has dim -5"):
        decode_tensor(TensorProto(dtype=DataType.DT_FLOAT, tensor_shape=bad))
    with pytest.raises(InvalidArgumentError, match="has dim -2"):
        encode_shape((3, -2))


def test_unknown_rank_with_dims_is_refused() -> None:
    bad = TensorShapeProto(dim=encode_shape((2,)).dim, unknown_rank=True)
    with pytest.raises(InvalidArgumentError, match="unknown_rank set and also 1 dims"):
        decode_shape(bad)


def test_encode_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="object array of bytes"):
        encode_tensor(np.array(["a", "b"]))
    with pytest.raises(InvalidArgumentError, match="element 1 of a DT_STRING array is a int"):
        encode_tensor(np.array([b"a", 3], dtype=object))
    with pytest.raises(InvalidArgumentError, match="has no TensorFlow equivalent"):
        encode_tensor(np.array(["2024-01-01"], dtype="datetime64[D]"))


def test_a_shape_of_more_dims_than_a_tensor_may_have_is_refused_at_once() -> None:
    # 100,000 dims took the worker 11 s to decode and NumPy then refused them.
    from eager_async.tensors import MAX_RANK

    wide = TensorShapeProto(dim=[TensorShapeProtoDim(size=1)] * 100_000)
    with pytest.raises(InvalidArgumentError, match=f"rank up to {MAX_RANK}"):
        decode_shape(wide)
    assert decode_shape(TensorShapeProto(dim=[TensorShapeProtoDim(size=1)] * MAX_RANK)) == (
        (1,) * MAX_RANK)
