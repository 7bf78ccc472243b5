"""AttrValue <-> Python: TF's own AttrValues, round trips, and error messages naming the attr."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import betterproto2
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eager_async._proto.tensorflow import (
    AttrValue,
    AttrValueListValue,
    DataType,
    NameAttrList,
    TensorProto,
    TensorShapeProto,
)
from eager_async.attrs import FuncAttr, Placeholder, decode_attr, decode_attrs, encode_attr
from eager_async.errors import InvalidArgumentError
from eager_async.tensors import encode_shape

# Byte vectors TF 2.21 produced, vendored in the repo (see tests/vectors/README.md).
VECTORS = Path(__file__).parent / "vectors"
RECORDS: list[dict[str, Any]] = [
    json.loads(line) for line in (VECTORS / "attr_values.jsonl").read_text().splitlines()
]


def record_params(*, with_shapes: bool = True) -> list[Any]:
    return [
        pytest.param(record, id=record["name"])
        for record in RECORDS
        if with_shapes or '"shape"' not in json.dumps(record["json"])
    ]


def parse(record: dict[str, Any]) -> AttrValue:
    return AttrValue.parse(bytes.fromhex(record["proto_hex"]))


# --- What each record's protobuf JSON should decode to --------------------------------------

# The dtypes the vectors use that NumPy can hold; any other decodes to its DataType member.
NUMPY_TYPES: dict[str, np.dtype] = {
    "DT_FLOAT": np.dtype(np.float32),
    "DT_INT32": np.dtype(np.int32),
    "DT_INT64": np.dtype(np.int64),
    "DT_STRING": np.dtype(object),
}


def expected_type(name: str) -> np.dtype | DataType:
    return NUMPY_TYPES.get(name, DataType[name])


def expected_shape(shape: dict[str, Any]) -> tuple[int, ...] | None:
    if shape.get("unknown_rank"):
        return None
    return tuple(int(dim.get("size", 0)) for dim in shape.get("dim", []))


def expected_tensor(tensor: dict[str, Any]) -> np.ndarray:
    np_dtype = expected_type(tensor["dtype"])
    assert isinstance(np_dtype, np.dtype)
    shape = expected_shape(tensor.get("tensor_shape", {}))
    if "tensor_content" in tensor:
        raw = base64.b64decode(tensor["tensor_content"])
        return np.frombuffer(raw, dtype=np_dtype.newbyteorder("<")).reshape(shape)
    if "string_val" in tensor:
        strings = [base64.b64decode(value) for value in tensor["string_val"]]
        return np.array(strings, dtype=object).reshape(shape)
    [values] = [value for key, value in tensor.items() if key.endswith("_val")]
    # JSON writes int64 as decimal strings and floats as numbers.
    numbers = [int(value) if isinstance(value, str) else value for value in values]
    return np.array(numbers, dtype=np_dtype).reshape(shape)


def expected_value(attr: dict[str, Any]) -> Any:
    """The Python value of an AttrValue in protobuf's JSON mapping."""
    [(kind, value)] = attr.items()
    if kind == "s":
        return base64.b64decode(value)
    if kind == "i":
        return int(value)
    if kind == "f":
        return float(value)  # also reads "NaN", "Infinity", "-Infinity"
    if kind == "b":
        return value
    if kind == "type":
        return expected_type(value)
    if kind == "shape":
        return expected_shape(value)
    if kind == "tensor":
        return expected_tensor(value)
    if kind == "placeholder":
        return Placeholder(value)
    if kind == "func":
        attrs = {key: expected_value(item) for key, item in value.get("attr", {}).items()}
        return FuncAttr(value["name"], attrs)
    assert kind == "list"
    if not value:
        return []
    [(field, items)] = value.items()
    return [expected_value({field: item}) for item in items]


def assert_matches(got: Any, expected: Any, where: str = "attr") -> None:
    """Equal values of the same Python type; floats compared as float32 bits."""
    assert type(got) is type(expected), where
    if isinstance(expected, float):
        assert struct.pack("<f", got) == struct.pack("<f", expected), where
    elif isinstance(expected, np.ndarray):
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), where
        if expected.dtype.kind == "O":
            assert got.tolist() == expected.tolist(), where
        else:
            assert got.tobytes() == expected.tobytes(), where
    elif isinstance(expected, list):
        assert len(got) == len(expected), where
        for index, (got_item, expected_item) in enumerate(zip(got, expected, strict=True)):
            assert_matches(got_item, expected_item, f"{where}[{index}]")
    elif isinstance(expected, FuncAttr):
        assert got.name == expected.name, where
        assert got.attrs.keys() == expected.attrs.keys(), where
        for key, expected_item in expected.attrs.items():
            assert_matches(got.attrs[key], expected_item, f"{where}.{key}")
    else:
        assert got == expected, where


# --- TF's vectors -----------------------------------------------------------------------------


def test_vector_file_is_whole() -> None:
    assert len(RECORDS) == 69
    assert len({record["name"] for record in RECORDS}) == len(RECORDS)


@pytest.mark.parametrize("record", record_params())
def test_decode_tf_vector(record: dict[str, Any]) -> None:
    value = parse(record)
    assert betterproto2.which_one_of(value, "value")[0] == record["kind"].split(".")[0]
    assert_matches(decode_attr(value), expected_value(record["json"]))


# A decoded shape is a tuple, which encodes as a list attr, so records holding shapes are
# left out here; shapes are encoded from TensorShapeProtos in test_encode_then_decode.
@pytest.mark.parametrize("record", record_params(with_shapes=False))
def test_encode_of_decoded_vector(record: dict[str, Any]) -> None:
    decoded = decode_attr(parse(record))
    encoded = encode_attr(decoded)
    text = json.dumps(record["json"])
    # Maps have no fixed byte order and TF's Python put some tensors in typed fields, so
    # only the other kinds must come out as TF's bytes.
    if '"func"' not in text and '"tensor"' not in text:
        assert bytes(encoded).hex() == record["proto_hex"]
    assert_matches(decode_attr(AttrValue.parse(bytes(encoded))), decoded)


# --- Decoding details -------------------------------------------------------------------------


def test_b_false_is_a_value_and_unset_is_an_error() -> None:
    assert decode_attr(AttrValue.parse(bytes.fromhex("2800"))) is False
    with pytest.raises(InvalidArgumentError, match="attr '<unnamed>' has no value"):
        decode_attr(AttrValue.parse(b""))


def test_empty_list_is_an_empty_list() -> None:
    assert decode_attr(AttrValue.parse(bytes.fromhex("0a00"))) == []


def test_types_without_numpy_equivalent_stay_datatypes() -> None:
    assert decode_attr(AttrValue(type=DataType.DT_RESOURCE)) is DataType.DT_RESOURCE
    assert decode_attr(AttrValue(type=DataType.DT_INVALID)) is DataType.DT_INVALID
    assert decode_attr(AttrValue(type=DataType.DT_BFLOAT16)) == np.dtype(ml_dtypes.bfloat16)


def test_nested_func_with_placeholder() -> None:
    [record] = [record for record in RECORDS if record["name"] == "func_nested"]
    func = decode_attr(parse(record))
    assert func == FuncAttr(
        "MyFunc",
        {
            "N": 2,
            "T": np.dtype(np.float32),
            "inner": FuncAttr("Inner", {"k": [1, 2], "p": Placeholder("T")}),
            "shapes": [(2,), (-1,)],
        },
    )


def test_func_attr_is_hashable_by_name() -> None:
    assert hash(FuncAttr("f", {"a": 1})) == hash(FuncAttr("f", {"a": 2}))
    assert FuncAttr("f", {"a": 1}) != FuncAttr("f", {"a": 2})


# --- Errors name the attr -----------------------------------------------------------------------


def bad_tensor() -> TensorProto:
    return TensorProto(
        dtype=DataType.DT_FLOAT, tensor_shape=encode_shape((2,)), tensor_content=b"\x00"
    )


@pytest.mark.parametrize(
    ("attrs", "fragment"),
    [
        pytest.param({"T": AttrValue()}, "attr 'T' has no value", id="unset"),
        pytest.param(
            {"f": AttrValue(func=NameAttrList(name="g", attr={"x": AttrValue()}))},
            "attr 'f.x' has no value",
            id="unset-in-func",
        ),
        pytest.param(
            {
                "fs": AttrValue(
                    list=AttrValueListValue(func=[NameAttrList(name="g", attr={"x": AttrValue()})])
                )
            },
            "attr 'fs[0].x' has no value",
            id="unset-in-func-list",
        ),
        pytest.param(
            {"value": AttrValue(tensor=bad_tensor())},
            "attr 'value': tensor_content of a DT_FLOAT tensor of shape [2] has 1 bytes",
            id="bad-tensor",
        ),
        pytest.param(
            {"values": AttrValue(list=AttrValueListValue(tensor=[bad_tensor()]))},
            "attr 'values[0]': tensor_content",
            id="bad-tensor-in-list",
        ),
        pytest.param(
            {
                "shape": AttrValue(
                    shape=TensorShapeProto(dim=encode_shape((2,)).dim, unknown_rank=True)
                )
            },
            "attr 'shape': shape has unknown_rank set and also 1 dims",
            id="bad-shape",
        ),
        pytest.param(
            {"l": AttrValue(list=AttrValueListValue(i=[1], f=[2.0]))},
            "list attr 'l' has values in i and f",
            id="two-list-kinds",
        ),
    ],
)
def test_decode_errors_name_the_attr(attrs: dict[str, AttrValue], fragment: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        decode_attrs(attrs)
    assert fragment in caught.value.message


# --- Encoding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        (b"\x00\xff", b"\x00\xff"),
        ("héllo", "héllo".encode()),
        (True, True),
        (False, False),
        (np.bool_(True), True),
        (0, 0),
        (-(2**63), -(2**63)),
        (np.int32(7), 7),
        (1.5, 1.5),
        (np.float32(-0.25), -0.25),
        (np.dtype(np.float32), np.dtype(np.float32)),
        (np.int64, np.dtype(np.int64)),
        (ml_dtypes.bfloat16, np.dtype(ml_dtypes.bfloat16)),
        (DataType.DT_RESOURCE, DataType.DT_RESOURCE),
        (encode_shape((2, -1)), (2, -1)),
        (encode_shape(None), None),
        (Placeholder("T"), Placeholder("T")),
        ([], []),
        ([1, 2, 2], [1, 2, 2]),
        ((1, 2), [1, 2]),
        ([0.5, 1.5], [0.5, 1.5]),
        ([b"a", "b"], [b"a", b"b"]),
        ([True, False], [True, False]),
        ([np.float32, DataType.DT_VARIANT], [np.dtype(np.float32), DataType.DT_VARIANT]),
        ([encode_shape(()), encode_shape(None)], [(), None]),
        (
            FuncAttr("f", {"T": np.dtype(np.float32), "g": FuncAttr("g", {"p": Placeholder("T")})}),
            FuncAttr("f", {"T": np.dtype(np.float32), "g": FuncAttr("g", {"p": Placeholder("T")})}),
        ),
        ([FuncAttr("a"), FuncAttr("b", {"N": 1})], [FuncAttr("a"), FuncAttr("b", {"N": 1})]),
    ],
    ids=repr,
)
def test_encode_then_decode(value: Any, decoded: Any) -> None:
    assert_matches(decode_attr(AttrValue.parse(bytes(encode_attr(value)))), decoded)


def test_encode_bool_is_b_not_i() -> None:
    assert betterproto2.which_one_of(encode_attr(True), "value") == ("b", True)
    assert betterproto2.which_one_of(encode_attr(False), "value") == ("b", False)


def test_encode_arrays() -> None:
    for array in (np.arange(6, dtype=np.int32).reshape(2, 3), np.array([b"x"], dtype=object)):
        assert_matches(decode_attr(encode_attr(array)), array)
    tensors = decode_attr(encode_attr([np.array(1, np.float32), np.zeros(2)]))
    assert [tensor.dtype for tensor in tensors] == [np.float32, np.float64]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ([1, 2.5], "list attr mixes f and i values"),
        ([[1], [2]], "list attrs cannot nest"),
        ([Placeholder("T")], "cannot hold placeholders"),
        (2**63, "does not fit in an int64"),
        (1e300, "does not fit in a float32"),
        (dict, "dict is not a NumPy dtype"),
        (None, "cannot encode a NoneType"),
        ({"a": 1}, "cannot encode a dict"),
        (np.dtype("U2"), "object array of bytes"),
    ],
    ids=repr,
)
def test_encode_errors(value: Any, fragment: str) -> None:
    with pytest.raises(InvalidArgumentError, match=fragment):
        encode_attr(value)


@settings(max_examples=50, deadline=None)
@given(
    st.one_of(
        st.lists(st.integers(-(2**63), 2**63 - 1)),
        st.lists(st.floats(width=32, allow_nan=False)),
        st.lists(st.binary(max_size=10)),
        st.lists(st.booleans()),
    )
)
def test_list_round_trip(values: list[Any]) -> None:
    assert decode_attr(AttrValue.parse(bytes(encode_attr(values)))) == values
