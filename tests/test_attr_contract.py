"""The op contract's checks of the attrs a caller sends, against TF's op definitions:
every attr kind as ``eager_async.attrs`` decodes it, allowed values, minimums, and what
the contract adds where NumPy dtypes cannot tell tensors apart (a string input holding a
resource). Each wrong call is INVALID_ARGUMENT (RESOURCE_EXHAUSTED past a worker's
limit) with a message naming the op, the attr, what was given and what is expected.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

from eager_async.attrs import FuncAttr, decode_attrs, encode_attr
from eager_async.dtypes import DataType
from eager_async.errors import EagerError, InvalidArgumentError, ResourceExhaustedError
from eager_async.kernels import lookup
from eager_async.kernels.contract import MAX_OUTPUTS, bind
from eager_async.kernels.op_defs import op_def
from eager_async.kernels.variables import var_handle_op

F32, I32 = np.dtype(np.float32), np.dtype(np.int32)
X = np.ones((1, 4, 4, 1), np.float32)
W = np.ones((2, 2, 1, 1), np.float32)
CONV = {"strides": [1, 1, 1, 1], "padding": b"SAME"}

POOL = {**CONV, "ksize": [1, 2, 2, 1]}
V3 = np.ones(3, np.float32)
SPLIT = (np.int32(0), np.ones(4, np.float32))

WRONG_KINDS = [
    # op, inputs, attrs the call sets right, the attr set wrong, its value; the kind
    # given and the kind expected
    ("Conv2D", (X, W), CONV, "strides", 3, "int", "list(int)"),
    ("Conv2D", (X, W), CONV, "strides", True, "bool", "list(int)"),
    ("Conv2D", (X, W), CONV, "strides", [True, 1, 1, 1], "list(bool)", "list(int)"),
    ("Conv2D", (X, W), CONV, "padding", 1, "int", "string"),
    ("Conv2D", (X, W), CONV, "use_cudnn_on_gpu", 1, "int", "bool"),
    ("MaxPool", (X,), POOL, "ksize", 2, "int", "list(int)"),
    ("GatherV2", (V3, np.int32([0]), np.int32(0)), {}, "batch_dims", b"0", "string", "int"),
    ("Split", SPLIT, {}, "num_split", b"2", "string", "int"),
    ("Split", SPLIT, {}, "num_split", [2], "list(int)", "int"),
    ("Split", SPLIT, {}, "num_split", 2.0, "float", "int"),
    ("Pack", (V3,), {}, "axis", DataType.DT_FLOAT, "type", "int"),
    ("LeakyRelu", (V3,), {}, "alpha", b"0.2", "string", "float"),
    ("Cast", (V3,), {}, "DstT", 3, "int", "type"),
    ("Cast", (V3,), {}, "DstT", np.float32([1]), "tensor", "type"),
    ("EnsureShape", (V3,), {}, "shape", [3], "list(int)", "shape"),
    ("Const", (), {"dtype": F32}, "value", 1.0, "float", "tensor"),
    ("PartitionedCall", (V3,), {"Tout": [F32]}, "f", b"Fn", "string", "func"),
    ("Assert", (np.bool_(True), np.int32(1)), {}, "summarize", [], "list", "int"),
]


@pytest.mark.parametrize(("op", "inputs", "base", "name", "value", "given", "expected"),
                         WRONG_KINDS, ids=[f"{w[0]}-{w[3]}-{w[5]}" for w in WRONG_KINDS])
def test_wrong_kind_is_invalid_argument(
    op: str, inputs: tuple[np.ndarray, ...], base: dict[str, Any], name: str, value: Any,
    given: str, expected: str,
) -> None:  # fmt: skip
    with pytest.raises(InvalidArgumentError) as error:
        lookup(op).run(list(inputs), {**base, name: value})
    message = error.value.message
    assert f"type '{given}' when '{expected}' expected" in message
    assert f"attr '{name}' of {op}" in message


def test_attrs_as_the_wire_decodes_them_pass() -> None:
    """Every kind, encoded and decoded as a request carries it, is what the check takes."""
    attrs = decode_attrs({k: encode_attr(v) for k, v in CONV.items()})
    (y,) = lookup("Conv2D").run([X, W], attrs)
    assert y.shape == (1, 4, 4, 1)


@pytest.mark.parametrize("value", [b"\xff", b"\xff\xfeSAME", b"", b"same"])
def test_a_string_outside_the_allowed_values_is_invalid_argument(value: bytes) -> None:
    with pytest.raises(InvalidArgumentError, match="not in the list of allowed values"):
        lookup("Conv2D").run([X, W], {**CONV, "padding": value})
    with pytest.raises(InvalidArgumentError, match="not in the list of allowed values"):
        lookup("Conv2D").run([X, W], {**CONV, "data_format": value})


def test_minimums() -> None:
    with pytest.raises(InvalidArgumentError, match="'num_split' of 0 must be at least minimum 1"):
        lookup("Split").run([np.int32(0), np.ones(4, np.float32)], {"num_split": 0})
    with pytest.raises(InvalidArgumentError, match="Length for attr 'T' of 0 must be at least"):
        bind(op_def("IdentityN"), [], {"T": []})


def test_a_huge_output_count_is_refused_before_its_list_is_made() -> None:
    with pytest.raises(ResourceExhaustedError, match=f"the {MAX_OUTPUTS} a worker makes"):
        lookup("Split").run([np.int32(0), np.ones(4, np.float32)], {"num_split": 2**62})


def test_a_huge_input_count_attr_is_named_not_spelt_out() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        lookup("AddN").run([np.ones(2, np.float32)], {"N": 2**62})
    assert len(error.value.message) < 300


def test_a_string_input_holding_a_resource_is_invalid_argument() -> None:
    handle = var_handle_op(dtype=F32, shape=(), shared_name=b"")
    with pytest.raises(InvalidArgumentError, match="expected to be a string tensor but holds"):
        lookup("StringLength").run([handle], {})
    batch = np.array([b"a", handle[()]], dtype=object)
    with pytest.raises(InvalidArgumentError, match="input #0"):
        lookup("StringUpper").run([batch], {})


def test_every_error_is_an_eager_error_for_each_wrong_kind_of_every_attr() -> None:
    """Each attr of a few ops, given a value of every other kind."""
    kinds: list[Any] = [3, True, 2.5, b"x", F32, DataType.DT_RESOURCE, (2,), None,
                        np.float32([1]), FuncAttr("F"), [1], [b"a"], [F32], []]  # fmt: skip
    calls = [("Conv2D", [X, W], CONV), ("MaxPool", [X], POOL),
             ("Cast", [np.ones(2, np.float32)], {"DstT": I32})]  # fmt: skip
    for op, inputs, base in calls:
        for name in op_def(op).attrs:
            for value in kinds:
                with contextlib.suppress(EagerError):
                    lookup(op).run(inputs, {**base, name: value})


def test_a_shape_attr_with_a_dim_below_minus_one_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgumentError, match=r"Shape \[-5\] has dimensions with values"):
        lookup("EnsureShape").run([np.ones(2, np.float32)], {"shape": (-5,)})
