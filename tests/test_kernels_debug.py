"""Records of the debug ops (``eager_async/kernels/debug_ops.py``); every expected value
and message was computed by TensorFlow 2.21 (``tf.raw_ops``) and pasted here."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from kernel_records import (
    INF,
    NAN,
    Bad,
    Case,
    Inference,
    b,
    bf16,
    c64,
    f16,
    f32,
    f64,
    i32,
    i64,
    s,
    t,
)

from eager_async.errors import NotFoundError, PermissionDeniedError
from eager_async.kernels import TensorSpec, lookup

STR = np.dtype(object)

C = Case
CASES = [
    C("NoOp", (), (), name="nothing"),
    C("Assert", (b(True), i32([1, 2])), (), name="true: no outputs"),
    C("Assert", (b(True), s(b"x"), f32([NAN])), (), {"summarize": 1}, name="data of any type"),
    C("CheckNumerics", (f32([1.0, -2.5, 0.0]),), (f32([1.0, -2.5, 0.0]),), {"message": b"m"},
      name="finite"),
    C("CheckNumerics", (bf16(np.zeros((0, 2))),), (bf16(np.zeros((0, 2))),), {"message": b"m"},
      name="empty"),
    C("CheckNumericsV2", (f16([[1.0, 65504.0]]),), (f16([[1.0, 65504.0]]),), {"message": b"m"},
      name="finite half"),
    C("CheckNumericsV2", (f64(3.5),), (f64(3.5),), {"message": b""}, name="scalar"),
    C("StopGradient", (f32([1.5, NAN]),), (f32([1.5, NAN]),), name="identity"),
    C("StopGradient", (s([b"a"]),), (s([b"a"]),), name="string"),
    C("PreventGradient", (i64([[1, 2]]),), (i64([[1, 2]]),), {"message": b"no"}, name="identity"),
    C("Snapshot", (c64([1 + 2j]),), (c64([1 + 2j]),), name="copy"),
    C("Snapshot", (b(np.zeros((0,))),), (b([]),), name="empty bool"),
    C("EnsureShape", (f32([[1, 2, 3], [4, 5, 6]]),), (f32([[1, 2, 3], [4, 5, 6]]),),
      {"shape": (2, -1)}, name="unknown dim"),
    C("EnsureShape", (s(b"a"),), (s(b"a"),), {"shape": None}, name="unknown rank"),
    C("EnsureShape", (i32(np.zeros((0, 3))),), (i32(np.zeros((0, 3))),), {"shape": (0, 3)},
      name="exact"),
    C("Print", (i32([1, 2]), i32([1, 2, 3, 4]), s(b"x")), (i32([1, 2]),), {"message": b"msg: "},
      name="returns the input"),
    C("Print", (f32(1.5),), (f32(1.5),), {"first_n": 0}, name="first_n 0 prints nothing"),
    C("PrintV2", (s(b"hello"),), (), name="stderr"),
    C("PrintV2", (s(b"hello"),), (), {"output_stream": b"log(info)", "end": b"|"}, name="log"),
]  # fmt: skip

ERRORS = [
    # TF itself crashes (SIGSEGV) on NoOp with an input; eager_async refuses the arity.
    Bad("NoOp", (i32(1),), "NodeDef expected inputs '' do not match 1 inputs specified"),
    Bad("Assert", (b([True]), i32(1)), "In[0] should be a scalar: [1]"),
    Bad("Assert", (i32(1), i32(1)),
        "cannot compute Assert as input #0(zero-based) was expected to be a bool tensor but is "
        "a int32 tensor"),
    Bad("CheckNumerics", (i32([1]),), "Value for attr 'T' of int32 is not in the list of allowed "
        "values", {"message": b"m"}),
    Bad("CheckNumericsV2", (f32([1]),), "NodeDef missing attr 'message'"),
    Bad("StopGradient", (f32([1]), f32([1])), "do not match 2 inputs specified"),
    Bad("PreventGradient", (), "do not match 0 inputs specified"),
    Bad("Snapshot", (s([b"a"]),), "Could not find a CPU kernel for Snapshot with T=string",
        error=NotFoundError),
    Bad("EnsureShape", (f32([[1, 2, 3], [4, 5, 6]]),),
        "Shape of tensor input [2,3] is not compatible with expected shape [3,?].",
        {"shape": (3, -1)}),
    Bad("EnsureShape", (f32(1),),
        "Shape of tensor input [] is not compatible with expected shape [1].", {"shape": (1,)}),
    Bad("Print", (), "do not match 0 inputs specified"),
    Bad("PrintV2", (s([b"a", b"b"]),), "Input is expected to be scalar, but got [2]"),
    Bad("PrintV2", (s(b"a"),), "Unknown output stream: bogus, Valid streams are: stdout stderr "
        "log(info) log(warning) log(error)", {"output_stream": b"bogus"}),
    Bad("PrintV2", (s(b"a"),), "Unknown output stream: , Valid streams are", {"output_stream":
        b"file://"}),
]  # fmt: skip

INFERENCE = [
    Inference("EnsureShape", (t(np.float32, (-1, 3)),), (t(np.float32, (2, 3)),),
              {"shape": (2, -1)}),
    Inference("EnsureShape", (t(np.float32, None),), (t(np.float32, (2, -1)),),
              {"shape": (2, -1)}),
    Inference("Assert", (t(np.bool_, None), t(np.int32, (2,))), (), {"T": [np.dtype(np.int32)]}),
    Inference("Print", (t(np.int32, (-1,)), t(STR, ())), (t(np.int32, (-1,)),)),
    Inference("NoOp", (), ()),
]  # fmt: skip

# What only the kernel can see (the values), with TF's messages.
V = Bad
VALUE_ERRORS = [
    V("Assert", (b(False), i32([1, 2, 3, 4])), "assertion failed: [1 2 3...]"),
    V("Assert", (b(False), i32([[1, 2], [3, 4]]), s(b"x\n"), f32(2.5)),
      "assertion failed: [[1 2][3...]...] [x\\n] [2.5]"),
    V("Assert", (b(False), i32(np.arange(24).reshape(2, 3, 4))),
      "assertion failed: [[[0 1 2 3][4...]]...]", {"summarize": 5}),
    V("Assert", (b(False), i32(np.arange(6).reshape(2, 3))), "assertion failed: [[0 1 2][3 4 5]]",
      {"summarize": -1}),
    V("Assert", (b(False), b([True, False]), c64([1j, 2, 3, 4])), "assertion failed: [] [...]",
      {"summarize": 0}),
    V("Assert", (b(False), f32(np.zeros((2, 0))), f64([-NAN, 1e-320, 1 / 3])),
      "assertion failed: [] [-nan 0 0.33333333333333331]"),
    V("CheckNumerics", (f32([1.0, NAN]),), "m : Tensor had NaN values", {"message": b"m"}),
    V("CheckNumerics", (bf16([INF, -INF]),), "m : Tensor had Inf values", {"message": b"m"}),
    V("CheckNumerics", (f16([NAN, -INF]),), " : Tensor had Inf and NaN values", {"message": b""}),
    V("CheckNumericsV2", (f32([INF]),), "m : Tensor had +Inf values", {"message": b"m"}),
    V("CheckNumericsV2", (f64([-INF, NAN]),), "m : Tensor had -Inf and NaN values",
      {"message": b"m"}),
    V("CheckNumericsV2", (f64([INF, -INF]),), "m : Tensor had -Inf and +Inf values",
      {"message": b"m"}),
    V("CheckNumericsV2", (f16([NAN, INF, -INF]),), "m : Tensor had -Inf, +Inf, and NaN values",
      {"message": b"m"}),
    # TF appends to a file on the worker; a network service refuses (see debug_ops).
    V("PrintV2", (s(b"x"),), "PrintV2 to file:///tmp/x.txt: eager_async does not write files "
      "on the worker for clients; print to stderr or a log(...) stream instead",
      {"output_stream": b"file:///tmp/x.txt"}, error=PermissionDeniedError),
]  # fmt: skip


@pytest.mark.parametrize("bad", VALUE_ERRORS, ids=lambda b: f"{b.op}-{b.fragment[:30]}")
def test_value_errors_wait_for_the_kernel(bad: Bad) -> None:
    spec = lookup(bad.op)
    spec.shapes([TensorSpec(x.dtype, x.shape, x) for x in bad.inputs], bad.attrs)
    with pytest.raises(bad.error) as raised:
        spec.run(bad.inputs, bad.attrs)
    assert raised.value.message == bad.fragment


def test_print_writes_message_and_v1_summaries(capsys: pytest.CaptureFixture[str]) -> None:
    # TF 2.21 wrote "msg: [1 2 3...][x]" to stderr for the first Case above.
    lookup("Print").run([i32([1, 2]), i32([1, 2, 3, 4]), s(b"x")], {"message": b"msg: "})
    assert capsys.readouterr().err == "msg: [1 2 3...][x]\n"


def test_print_first_n_counts_calls(capsys: pytest.CaptureFixture[str]) -> None:
    attrs = {"message": b"counted once per worker: ", "first_n": 2}
    for i in range(3):
        lookup("Print").run([i32([1]), i32(i)], attrs)
    assert capsys.readouterr().err.splitlines() == [
        "counted once per worker: [0]",
        "counted once per worker: [1]",
    ]


def test_print_v2_streams(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    spec = lookup("PrintV2")
    spec.run([s(b"out")], {"output_stream": b"stdout", "end": b"|\n"})
    spec.run([s(b"err")], {})
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("out|\n", "err\n")
    with caplog.at_level(logging.WARNING, logger="eager_async.print"):
        spec.run([s(b"careful")], {"output_stream": b"log(warning)"})
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.WARNING, "careful")]
    target = tmp_path / "printed.txt"
    with pytest.raises(PermissionDeniedError):
        spec.run([s(b"a")], {"output_stream": b"file://" + str(target).encode()})
    assert not target.exists()


def test_snapshot_copies() -> None:
    x = f32([1, 2])
    y = lookup("Snapshot").run([x], {})[0]
    x[0] = 5
    assert y.tolist() == [1, 2]
