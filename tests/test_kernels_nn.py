"""Records of the nn kernels: activations, softmax, losses, InTopKV2, conv and pooling.

Convolutions are checked against hand-computed windows and against a plain loop over
output positions (``conv_ref``), independent of the kernels' sliding-window views.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from kernel_records import (
    BF16,
    INF,
    NAN,
    Bad,
    Case,
    Inference,
    b,
    bf16,
    c64,
    check_case,
    f16,
    f32,
    f64,
    i8,
    i32,
    i64,
    rand,
    t,
    u8,
)
from scipy import special

from eager_async.errors import UnimplementedError

# A window's padding for reference loops: SAME/VALID/explicit (before, after) pairs.
Pads = tuple[tuple[int, int], tuple[int, int]]


def conv_ref(x: np.ndarray, f: np.ndarray, strides: tuple[int, int], pads: Pads,
             dilations: tuple[int, int] = (1, 1), depthwise: bool = False) -> np.ndarray:
    """NHWC convolution by explicit loops over output positions (float64)."""
    x = np.pad(x.astype(np.float64), ((0, 0), *pads, (0, 0)))
    kh, kw, ci, co = f.shape
    eh, ew = (kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1
    oh = (x.shape[1] - eh) // strides[0] + 1
    ow = (x.shape[2] - ew) // strides[1] + 1
    depth = ci * co if depthwise else co
    out = np.zeros((x.shape[0], oh, ow, depth))
    groups = x.shape[3] // ci
    for i in range(oh):
        for j in range(ow):
            r, c = i * strides[0], j * strides[1]
            patch = x[:, r : r + eh : dilations[0], c : c + ew : dilations[1], :]
            if depthwise:
                out[:, i, j] = np.einsum("nijc,ijcm->ncm", patch, f).reshape(-1, depth)
            else:
                per = co // groups
                for g in range(groups):
                    p = patch[..., g * ci : (g + 1) * ci]
                    w = f[..., g * per : (g + 1) * per]
                    out[:, i, j, g * per : (g + 1) * per] = np.einsum("nijc,ijco->no", p, w)
    return out


def conv_case(x: np.ndarray, f: np.ndarray, pads: Pads, attrs: dict[str, Any],
              depthwise: bool = False, nchw: bool = False, tol: float = 1e-4,
              name: str = "") -> Case:
    s = attrs["strides"]
    d = attrs.get("dilations", [1, 1, 1, 1])
    hw = (2, 3) if nchw else (1, 2)
    xin = x.transpose(0, 3, 1, 2) if nchw else x
    want = conv_ref(x, f, (s[hw[0]], s[hw[1]]), pads, (d[hw[0]], d[hw[1]]), depthwise)
    if nchw:
        want = want.transpose(0, 3, 1, 2)
    op = "DepthwiseConv2dNative" if depthwise else "Conv2D"
    return Case(op, (xin, f), (want.astype(x.dtype),), attrs, tol=tol, name=name)


def softmax_ref(x: np.ndarray) -> np.ndarray:
    return special.softmax(x.astype(np.float64), axis=-1).astype(x.dtype)


def log_softmax_ref(x: np.ndarray) -> np.ndarray:
    return special.log_softmax(x.astype(np.float64), axis=-1).astype(x.dtype)


def selu_ref(x: np.ndarray) -> np.ndarray:
    scale, alpha = 1.0507009873554805, 1.6732632423543772
    return np.where(x < 0, scale * alpha * np.expm1(x), scale * x).astype(x.dtype)


X33 = f32(np.arange(1, 10).reshape(1, 3, 3, 1))
X44 = f32(np.arange(16).reshape(1, 4, 4, 1))
ONES2 = f32(np.ones((2, 2, 1, 1)))
ONES3 = f32(np.ones((3, 3, 1, 1)))
S1 = [1, 1, 1, 1]
S2 = [1, 2, 2, 1]
SAME, VALID, EXPLICIT = b"SAME", b"VALID", b"EXPLICIT"
NCHW = b"NCHW"
X = rand((2, 5, 6, 4))
F = rand((3, 2, 4, 3))
LOGITS = rand((3, 5))
ONE_HOT = f32(np.eye(5)[[1, 0, 4]])

C = Case
CASES = [
    # Activations
    C("Relu", (f32([-1, 0, 2, NAN, -INF]),), (f32([0, 0, 2, NAN, 0]),), name="nan stays"),
    C("Relu", (i8([-128, 5]),), (i8([0, 5]),), name="int8"),
    C("Relu", (u8([0, 255]),), (u8([0, 255]),), name="uint8"),
    C("Relu", (bf16(-1.5),), (bf16(0),), name="bfloat16 scalar"),
    C("Relu", (f32(np.zeros((0, 2))),), (f32(np.zeros((0, 2))),), name="0-size"),
    C("Relu6", (f32([-1, 3, 7, INF, NAN]),), (f32([0, 3, 6, 6, NAN]),)),
    C("Relu6", (i32([-5, 4, 100]),), (i32([0, 4, 6]),), name="int32"),
    C("Relu6", (u8([255]),), (u8([6]),), name="uint8"),
    C("Elu", (f32([-1, 0, 2, -INF]),), (f32([np.expm1(-1), 0, 2, -1]),), tol=1e-6),
    C("Elu", (f16([-0.5, 1]),), (f16([np.expm1(-0.5), 1]),), tol=1e-3, name="half"),
    C("Selu", (rand((3, 4), np.float64),), selu_ref, tol=1e-12),
    C("Selu", (f32(0),), (f32(0),), name="scalar"),
    C("LeakyRelu", (f32([-2, 0, 3]),), (f32([-0.4, 0, 3]),), tol=1e-7, name="default alpha"),
    C("LeakyRelu", (f64([-2, 3]),), (f64([-4, 3]),), {"alpha": 2.0}, name="alpha above 1"),
    C("LeakyRelu", (bf16([-1, NAN]),), (bf16([-0.5, NAN]),), {"alpha": 0.5}, name="bf16"),
    # alpha is TF's float attr: float32(0.2), even for a double tensor.
    C("LeakyRelu", (f64([-2, 3]),), (f64([-2 * float(np.float32(0.2)), 3]),),
      name="double default alpha"),
    C("LeakyRelu", (f16([-2]),), (f16([-2 * np.float16(0.3)]),), {"alpha": 0.3},
      name="half alpha"),
    C("Softplus", (f32([0, 1, -1, 100, -100]),),
      (f32([np.log(2), np.log1p(np.e), np.log1p(np.exp(-1)), 100, np.exp(-100)]),),
      tol=1e-6),
    C("Softplus", (f64([-800, 800]),), (f64([0, 800]),), name="no overflow"),
    C("Softplus", (f16([0, 20]),), (f16([np.log(2), 20]),), tol=1e-3, name="half"),
    C("Softsign", (f32([-3, 0, 1]),), (f32([-0.75, 0, 0.5]),)),
    C("Softsign", (bf16(np.zeros((2, 0))),), (bf16(np.zeros((2, 0))),), name="0-size"),
    C("Sigmoid", (f32([0, -1000, 1000, NAN]),), (f32([0.5, 0, 1, NAN]),)),
    C("Sigmoid", (rand((4,), np.float64),), special.expit, tol=1e-12, name="double"),
    C("Sigmoid", (c64([0j, 1j]),), (c64([0.5, 1 / (1 + np.exp(-1j))]),), tol=1e-6,
      name="complex"),
    # Softmax family
    C("Softmax", (f32([[1000, 1000], [0, np.log(3)]]),), (f32([[0.5, 0.5], [0.25, 0.75]]),),
      tol=1e-6, name="stable"),
    C("Softmax", (rand((2, 3, 4)),), softmax_ref, tol=1e-6, name="rank 3"),
    C("Softmax", (f16([1, 1, 1, 1]),), (f16([0.25] * 4),), name="half vector"),
    C("Softmax", (f32(np.zeros((2, 0))),), (f32(np.zeros((2, 0))),), name="0 classes"),
    C("LogSoftmax", (f64([[1000, 0], [0, 0]]),), (f64([[0, -1000], [-np.log(2)] * 2]),),
      tol=1e-12, name="stable"),
    C("LogSoftmax", (rand((3, 5)),), log_softmax_ref, tol=1e-5),
    C("LogSoftmax", (bf16([0, 0]),), (bf16([-np.log(2)] * 2),), tol=1e-2, name="bf16"),
    C("SoftmaxCrossEntropyWithLogits", (f32([[0, 0], [1000, 0]]), f32([[1, 0], [0, 1]])),
      (f32([np.log(2), 1000]), f32([[-0.5, 0.5], [1, -1]])), tol=1e-5),
    C("SoftmaxCrossEntropyWithLogits", (LOGITS, ONE_HOT),
      (-np.sum(ONE_HOT * log_softmax_ref(LOGITS), axis=1), softmax_ref(LOGITS) - ONE_HOT),
      tol=1e-5, name="one-hot"),
    C("SoftmaxCrossEntropyWithLogits", (f64([[0, 0], [0, 0]]), f64([1, 0])),
      (f64([np.log(2)] * 2), f64([[-0.5, 0.5]] * 2)), tol=1e-12, name="broadcast labels"),
    C("SoftmaxCrossEntropyWithLogits", (f16(np.zeros((0, 3))), f16(np.zeros((0, 3)))),
      (f16(np.zeros(0)), f16(np.zeros((0, 3)))), name="empty batch"),
    C("SparseSoftmaxCrossEntropyWithLogits", (LOGITS, i32([1, 0, 4])),
      (-np.sum(ONE_HOT * log_softmax_ref(LOGITS), axis=1), softmax_ref(LOGITS) - ONE_HOT),
      tol=1e-5),
    C("SparseSoftmaxCrossEntropyWithLogits", (f64([[0, 0, 1000]]), i64([0])),
      (f64([1000]), f64([[-1, 0, 1]])), tol=1e-9, name="int64 stable"),
    C("SparseSoftmaxCrossEntropyWithLogits", (bf16(np.zeros((0, 2))), i64(np.zeros(0))),
      (bf16(np.zeros(0)), bf16(np.zeros((0, 2)))), name="empty batch"),
    C("L2Loss", (f32([[1, 2], [3, 4]]),), (f32(15),)),
    C("L2Loss", (f64(3),), (f64(4.5),), name="scalar"),
    C("L2Loss", (f16(np.zeros((0, 3))),), (f16(0),), name="empty"),
    C("L2Loss", (bf16([2, 2]),), (bf16(4),), name="bf16"),
    # InTopKV2: ties favour the target; non-finite rows and bad targets are False.
    C("InTopKV2", (f32([[0.1, 0.3, 0.3, 0.2], [0.1, 0.3, 0.3, 0.2]]), i32([1, 3]), i32(1)),
      (b([True, False]),), name="ties"),
    C("InTopKV2", (f32([[1, 2, 3]] * 4), i64([2, 0, -1, 3]), i64(2)),
      (b([True, False, False, False]),), name="out-of-range targets"),
    C("InTopKV2", (f32([[NAN, 1, 2], [INF, 1, 2], [1, 2, 3]]), i32([2, 2, 1]), i32(3)),
      (b([False, False, True]),), name="non-finite"),
    C("InTopKV2", (f32([[1, 2]]), i32([1]), i32(0)), (b([False]),), name="k 0"),
    C("InTopKV2", (f32(np.zeros((0, 3))), i32(np.zeros(0)), i32(1)), (b(np.zeros(0)),),
      name="empty"),
    # Conv2D: hand-computed windows (TF's SAME puts the odd padding after).
    C("Conv2D", (X33, ONES2), (f32([12, 16, 9, 24, 28, 15, 15, 17, 9]).reshape(1, 3, 3, 1),),
      {"strides": S1, "padding": SAME}, name="same odd pad after"),
    C("Conv2D", (X44, ONES3), (f32([45, 39, 66, 50]).reshape(1, 2, 2, 1),),
      {"strides": S2, "padding": SAME}, name="same stride 2"),
    C("Conv2D", (X44, ONES2), (f32([10, 18, 42, 50]).reshape(1, 2, 2, 1),),
      {"strides": S2, "padding": VALID}, name="valid stride 2"),
    C("Conv2D", (f32(np.ones((1, 1, 1, 1))), ONES3), (f32(np.zeros((1, 0, 0, 1))),),
      {"strides": [1, 3, 3, 1], "padding": VALID}, name="valid empty output"),
    C("Conv2D", (f32(np.ones((1, 0, 4, 1))), ONES3), (f32(np.zeros((1, 0, 1, 1))),),
      {"strides": [1, 2, 2, 1], "padding": VALID}, name="C division truncates"),
    C("Conv2D", (i32(np.arange(9).reshape(1, 3, 3, 1)), i32(np.ones((2, 2, 1, 1)))),
      (i32([8, 12, 20, 24]).reshape(1, 2, 2, 1),), {"strides": S1, "padding": VALID},
      name="int32"),
    conv_case(X, F, ((1, 1), (0, 1)), {"strides": S1, "padding": SAME}, name="same ref"),
    conv_case(X, F, ((0, 0), (0, 0)), {"strides": [1, 2, 3, 1], "padding": VALID},
              name="valid ref"),
    conv_case(X, F, ((2, 0), (1, 3)),
              {"strides": [1, 1, 2, 1], "padding": EXPLICIT,
               "explicit_paddings": [0, 0, 2, 0, 1, 3, 0, 0]}, name="explicit"),
    conv_case(X, F, ((2, 2), (1, 1)),
              {"strides": S1, "padding": SAME, "dilations": [1, 2, 2, 1]}, name="dilated"),
    # TF's CPU rejects NCHW only once there is something to compute.
    conv_case(X[:0], F, ((0, 0), (0, 0)),
              {"strides": [1, 1, 1, 2], "padding": VALID, "data_format": NCHW,
               "dilations": [1, 1, 2, 1]}, nchw=True, name="nchw empty batch"),
    conv_case(X, rand((2, 2, 2, 6)), ((0, 1), (0, 1)), {"strides": S1, "padding": SAME},
              name="grouped"),
    conv_case(X.astype(np.float64), F.astype(np.float64), ((1, 1), (0, 1)),
              {"strides": S1, "padding": SAME}, tol=1e-10, name="double"),
    conv_case(X.astype(np.float16), F.astype(np.float16), ((1, 1), (0, 1)),
              {"strides": S1, "padding": SAME}, tol=2e-2, name="half"),
    C("Conv2D", (f32(np.zeros((0, 3, 3, 2))), f32(np.ones((2, 2, 2, 4)))),
      (f32(np.zeros((0, 3, 3, 4))),), {"strides": S1, "padding": SAME}, name="0 batch"),
    # DepthwiseConv2dNative: channel k*multiplier + q.
    C("DepthwiseConv2dNative", (f32([[[[1, 10]]]]), f32([[[[1, 2], [3, 4]]]])),
      (f32([[[[1, 2, 30, 40]]]]),), {"strides": S1, "padding": VALID}, name="channel order"),
    conv_case(X, rand((3, 3, 4, 2)), ((1, 1), (1, 1)), {"strides": S1, "padding": SAME},
              depthwise=True, name="same ref"),
    conv_case(X, rand((2, 3, 4, 1)), ((0, 0), (0, 0)), {"strides": S2, "padding": VALID},
              depthwise=True, name="valid stride 2"),
    conv_case(X[:0], rand((2, 2, 4, 3)), ((0, 0), (0, 0)),
              {"strides": S1, "padding": VALID, "data_format": NCHW}, depthwise=True,
              nchw=True, name="nchw empty batch"),
    # Half types round after every multiply-add: 2048 + 1 + 1 stays 2048.
    C("DepthwiseConv2dNative", (f16([2048, 1, 1]).reshape(1, 1, 3, 1), f16(np.ones((1, 3, 1, 1)))),
      (f16([2048]).reshape(1, 1, 1, 1),), {"strides": S1, "padding": VALID},
      name="half rounds each step"),
    conv_case(X.astype(BF16), rand((2, 2, 4, 1), BF16),
              ((0, 1), (0, 1)), {"strides": S1, "padding": SAME}, depthwise=True,
              tol=5e-2, name="bf16"),
    # Pooling: MaxPool ignores padding, AvgPool divides by the real elements only.
    C("MaxPool", (X33,), (f32([5, 6, 8, 9]).reshape(1, 2, 2, 1),),
      {"ksize": [1, 2, 2, 1], "strides": S2, "padding": SAME}),
    C("MaxPool", (f32(-X33),), (f32([-1, -3, -7, -9]).reshape(1, 2, 2, 1),),
      {"ksize": [1, 2, 2, 1], "strides": S2, "padding": SAME}, name="negative"),
    C("MaxPool", (i8(np.arange(-8, 8).reshape(1, 4, 4, 1)),), (i8([[[[-3], [-1]], [[5], [7]]]]),),
      {"ksize": [1, 2, 2, 1], "strides": S2, "padding": VALID}, name="int8"),
    # TF skips NaN and starts from the dtype's lowest value, which -inf does not beat.
    C("MaxPool", (f32([[[[1, NAN, 3, 4]]]]).reshape(1, 1, 4, 1),), (f32([[[[1], [4]]]]),),
      {"ksize": [1, 1, 2, 1], "strides": S2, "padding": VALID}, name="nan"),
    C("MaxPool", (f16([NAN, -INF, 2, NAN]).reshape(1, 1, 4, 1),),
      (f16([-65504, 2]).reshape(1, 1, 2, 1),),
      {"ksize": [1, 1, 2, 1], "strides": S2, "padding": VALID}, name="half lowest"),
    C("MaxPool", (f32([NAN]).reshape(1, 1, 1, 1),),
      (f32([np.finfo(np.float32).min]).reshape(1, 1, 1, 1),),
      {"ksize": [1, 1, 3, 1], "strides": S1, "padding": SAME}, name="all nan"),
    # Across depth: spatial strides ignored, a leading NaN kept, a later one skipped.
    C("MaxPool", (f32([NAN, 1, 2, NAN, -INF, -INF, 3, -1]).reshape(1, 1, 2, 4),),
      (f32([NAN, 2, -INF, 3]).reshape(1, 1, 2, 2),),
      {"ksize": [1, 1, 1, 2], "strides": [1, 3, 3, 2], "padding": SAME}, name="depth"),
    C("MaxPool", (i8([-128, -5, 7, 3]).reshape(1, 1, 1, 4),), (i8([-5, 7]).reshape(1, 1, 1, 2),),
      {"ksize": [1, 1, 1, 2], "strides": [1, 1, 1, 2], "padding": VALID}, name="depth int8"),
    C("MaxPool", (f32(np.arange(8).reshape(1, 2, 2, 2)),), (f32([[[[6, 7]]]]),),
      {"ksize": [1, 2, 2, 1], "strides": [1, 1, 1, 3], "padding": VALID},
      name="depth stride ignored"),
    C("MaxPool", (X33,), (f32([1, 3, 7, 9]).reshape(1, 2, 2, 1),),
      {"ksize": [1, 2, 2, 1], "strides": S2, "padding": EXPLICIT,
       "explicit_paddings": [0, 0, 1, 0, 1, 0, 0, 0]}, name="explicit"),
    C("MaxPool", (f32(np.zeros((1, 0, 2, 1))),), (f32(np.zeros((1, 0, 1, 1))),),
      {"ksize": [1, 2, 2, 1], "strides": S2, "padding": SAME}, name="0-size"),
    C("AvgPool", (X33,), (f32([3, 4, 4.5, 6, 7, 7.5, 7.5, 8.5, 9]).reshape(1, 3, 3, 1),),
      {"ksize": [1, 2, 2, 1], "strides": S1, "padding": SAME}, name="same counts"),
    C("AvgPool", (X44,), (f32([2.5, 4.5, 10.5, 12.5]).reshape(1, 2, 2, 1),),
      {"ksize": [1, 2, 2, 1], "strides": S2, "padding": VALID}, name="valid"),
    C("AvgPool", (f16(np.arange(1, 10).reshape(1, 3, 3, 1)),),
      (f16([3, 4.5, 7.5, 9]).reshape(1, 2, 2, 1),),
      {"ksize": [1, 2, 2, 1], "strides": S2, "padding": SAME}, name="half"),
    C("AvgPool", (rand((2, 4, 4, 3), np.float64),),
      lambda x: x.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4)),
      {"ksize": [1, 2, 2, 1], "strides": S2, "padding": VALID}, tol=1e-12, name="ref"),
]


N, FL = np.int32, np.float32
CONV = {"strides": S1, "padding": SAME}
POOL = {"ksize": [1, 3, 3, 1], "strides": S2, "padding": VALID}
INFERENCE = [
    Inference("Conv2D", (t(FL, (-1, 5, -1, 3)), t(FL, (3, 3, 3, 8))), (t(FL, (-1, 5, -1, 8)),),
              CONV),
    Inference("Conv2D", (t(FL, None), t(FL, (3, 3, 3, 8))), (t(FL, (-1, -1, -1, 8)),), CONV),
    Inference("Conv2D", (t(FL, (2, 3, 9, 9)), t(FL, None)), (t(FL, (2, -1, 5, 5)),),
              {"strides": [1, 1, 2, 2], "padding": SAME, "data_format": NCHW}),
    Inference("DepthwiseConv2dNative", (t(FL, (1, 7, 7, -1)), t(FL, (2, 2, 3, 2))),
              (t(FL, (1, 6, 6, 6)),), {"strides": S1, "padding": VALID}),
    Inference("MaxPool", (t(FL, (4, 10, -1, 2)),), (t(FL, (4, 4, -1, 2)),), POOL),
    Inference("AvgPool", (t(FL, None),), (t(FL, (-1, -1, -1, -1)),), POOL),
    Inference("Softmax", (t(FL, None),), (t(FL, None),)),
    Inference("SoftmaxCrossEntropyWithLogits", (t(FL, (-1, 5)), t(FL, (4, -1))),
              (t(FL, (4,)), t(FL, (4, 5)))),
    Inference("SoftmaxCrossEntropyWithLogits", (t(FL, None), t(FL, (5,))),
              (t(FL, (-1,)), t(FL, (-1, -1)))),
    Inference("SparseSoftmaxCrossEntropyWithLogits", (t(FL, (-1, 5)), t(N, (3,))),
              (t(FL, (3,)), t(FL, (3, 5)))),
    Inference("InTopKV2", (t(FL, (-1, 5)), t(N, (4,)), t(N, ())), (t(np.bool_, (4,)),)),
    Inference("L2Loss", (t(FL, None),), (t(FL, ()),)),
]


ONES = f32(np.ones((1, 4, 4, 2)))
FIL = f32(np.ones((2, 2, 2, 1)))
FIL4 = f32(np.ones((2, 2, 4, 1)))  # depth 4 matches ONES read as NCHW
ERRORS = [
    Bad("Relu", (b([True]),), "Value for attr 'T' of bool is not in the list of allowed "
        "values: float, double, int32"),
    Bad("Relu6", (c64([1]),), "of complex64 is not in the list"),
    Bad("Elu", (i32([1]),), "of int32 is not in the list of allowed values: half, "
        "bfloat16, float, double"),
    Bad("Selu", (f32(1), f32(1)), "do not match 2 inputs specified"),
    Bad("LeakyRelu", (i32([1]),), "of int32 is not in the list"),
    Bad("Softplus", (i64([1]),), "of int64 is not in the list"),
    Bad("Softsign", (u8([1]),), "of uint8 is not in the list"),
    Bad("Sigmoid", (i32([1]),), "of int32 is not in the list"),
    Bad("Softmax", (f32(1),), "logits must have >= 1 dimension, got []"),
    Bad("LogSoftmax", (c64([1]),), "of complex64 is not in the list"),
    Bad("SoftmaxCrossEntropyWithLogits", (f32(np.ones((2, 3))), f32(np.ones((2, 4)))),
        "logits and labels must be broadcastable: logits_size=[2,3] labels_size=[2,4]"),
    Bad("SoftmaxCrossEntropyWithLogits", (f32(np.ones(3)), f32(np.ones(3))),
        "logits and labels must be either 2-dimensional, or broadcasted"),
    Bad("SoftmaxCrossEntropyWithLogits", (f32(np.ones((2, 3))), f64(np.ones((2, 3)))),
        "input #1(zero-based) was expected to be a float tensor but is a double"),
    Bad("SparseSoftmaxCrossEntropyWithLogits", (f32(np.ones((3, 2))), i32([0, 2, -1])),
        "Received a label value of -1 which is outside the valid range of [0, 2).  "
        "Label values: 0 2 -1"),
    Bad("SparseSoftmaxCrossEntropyWithLogits", (f32(np.ones((2, 2))), i64([0, 5])),
        "Received a label value of 5 which is outside the valid range of [0, 2)"),
    Bad("SparseSoftmaxCrossEntropyWithLogits", (f32(np.ones((3, 5))), i32(np.zeros(7))),
        "logits and labels must have the same first dimension, got logits shape [3,5] "
        "and labels shape [7]"),
    Bad("SparseSoftmaxCrossEntropyWithLogits", (f32(np.ones((0, 0))), i32(np.zeros(0))),
        "Must have at least one class, but got logits shape [0,0]"),
    Bad("SparseSoftmaxCrossEntropyWithLogits", (f32(np.ones(3)), i32([0])),
        "logits must be 2-D, but got shape [3]"),
    Bad("SparseSoftmaxCrossEntropyWithLogits", (f32(np.ones((1, 3))), f32([0])),
        "Value for attr 'Tlabels' of float is not in the list"),
    Bad("L2Loss", (i32([1]),), "of int32 is not in the list of allowed values"),
    Bad("InTopKV2", (f64([[1]]), i32([0]), i32(1)), "input #0(zero-based) was expected to "
        "be a float tensor but is a double tensor"),
    Bad("InTopKV2", (f32([[1]]), i32([0]), i64(1)), "input #2(zero-based) was expected to "
        "be a int32 tensor but is a int64 tensor"),
    Bad("InTopKV2", (f32([[1]]), i32([0]), i32([1])), "k must be 0-D, got shape [1]"),
    Bad("InTopKV2", (f32([[1], [2]]), i32([0]), i32(1)),
        "First dimension of predictions 2 must match length of targets 1"),
    Bad("InTopKV2", (f32([1]), i32([0]), i32(1)), "predictions must be 2-dimensional"),
    Bad("Conv2D", (ONES, FIL), "Computed output size would be negative: -1 [input_size: 4, "
        "effective_filter_size: 6, stride: 1]",
        {"strides": S1, "padding": VALID, "dilations": [1, 5, 1, 1]}),
    Bad("Conv2D", (ONES, f32(np.ones((2, 2, 3, 1)))),
        "input depth must be evenly divisible by filter depth: 2 vs 3", CONV),
    Bad("Conv2D", (ONES, f32(np.ones((2, 2, 1, 3)))),
        "output depth must be evenly divisible by number of groups: 3 vs 2", CONV),
    Bad("Conv2D", (f32(np.ones((4, 4, 2))), FIL), "convolution input must be 4-dimensional",
        CONV),
    Bad("Conv2D", (ONES, FIL), "Sliding window strides field must specify 4 dimensions",
        {"strides": [1, 1], "padding": SAME}),
    Bad("Conv2D", (ONES, FIL), "does not yet support strides in the batch and depth",
        {"strides": [2, 1, 1, 1], "padding": SAME}, UnimplementedError),
    Bad("Conv2D", (ONES, FIL), "Row and column strides should be larger than 0.",
        {"strides": [1, 0, 1, 1], "padding": SAME}),
    Bad("Conv2D", (ONES, FIL), "Dilated rates should be larger than 0.",
        {"strides": S1, "padding": SAME, "dilations": [1, 0, 1, 1]}),
    Bad("Conv2D", (ONES, FIL), "Value for attr 'padding' of \"FULL\" is not in the list",
        {"strides": S1, "padding": b"FULL"}),
    Bad("Conv2D", (ONES, FIL), "Value for attr 'data_format' of \"HWCN\"",
        {"strides": S1, "padding": SAME, "data_format": b"HWCN"}),
    Bad("Conv2D", (ONES, FIL), "explicit_paddings attribute must contain 8 values, but got: 2",
        {"strides": S1, "padding": EXPLICIT, "explicit_paddings": [1, 1]}),
    Bad("Conv2D", (ONES, FIL), "explicit_paddings must be nonnegative",
        {"strides": S1, "padding": EXPLICIT, "explicit_paddings": [0, 0, -1, 0, 0, 0, 0, 0]}),
    Bad("Conv2D", (ONES, FIL), "Nonzero explicit padding in the batch or depth dimensions",
        {"strides": S1, "padding": EXPLICIT, "explicit_paddings": [0, 0, 0, 0, 0, 0, 1, 0]}),
    Bad("Conv2D", (ONES, FIL), "explicit_paddings attribute must be empty",
        {"strides": S1, "padding": SAME, "explicit_paddings": [0] * 8}),
    Bad("Conv2D", (ONES, FIL), "missing attr \'strides\'", {"padding": SAME}),
    Bad("Conv2D", (i8(np.ones((1, 2, 2, 1))), i8(np.ones((1, 1, 1, 1)))),
        "of int8 is not in the list of allowed values", CONV),
    Bad("DepthwiseConv2dNative", (ONES, f32(np.ones((2, 2, 3, 1)))),
        "input and filter must have the same depth: 2 vs 3", CONV),
    Bad("DepthwiseConv2dNative", (ONES, FIL), "only supports equal length strides",
        {"strides": [1, 1, 2, 1], "padding": SAME}),
    Bad("DepthwiseConv2dNative", (ONES, f32(np.ones((2, 2, 2)))),
        "filter must be 4-dimensional", CONV),
    Bad("Conv2D", (ONES, FIL4), "The Conv2D op currently only supports the NHWC tensor format "
        "on the CPU. The op was given the format: NCHW",
        {"strides": S1, "padding": SAME, "data_format": NCHW}, UnimplementedError),
    Bad("DepthwiseConv2dNative", (ONES, FIL4),
        "Depthwise convolution on CPU is only supported for NHWC format",
        {"strides": S1, "padding": SAME, "data_format": NCHW}, UnimplementedError),
    Bad("DepthwiseConv2dNative", (i32(np.ones((1, 2, 2, 1))), i32(np.ones((1, 1, 1, 1)))),
        "of int32 is not in the list", CONV),
    Bad("MaxPool", (ONES,), "Pooling is not yet supported on the batch dimension.",
        {"ksize": [2, 1, 1, 1], "strides": S1, "padding": SAME}, UnimplementedError),
    Bad("MaxPool", (ONES,), "Default MaxPoolingOp only supports NHWC on device type CPU",
        {"ksize": [1, 1, 1, 1], "strides": S1, "padding": VALID, "data_format": NCHW}),
    Bad("MaxPool", (ONES,), "Default MaxPoolingOp only supports NHWC on device type CPU",
        {"ksize": [1, 1, 1, 1], "strides": S1, "padding": VALID,
         "data_format": b"NCHW_VECT_C"}),
    Bad("MaxPool", (ONES,), "supports exactly one of pooling across depth or pooling across",
        {"ksize": [1, 2, 1, 2], "strides": [1, 1, 1, 2], "padding": VALID},
        UnimplementedError),
    Bad("MaxPool", (f32(np.ones((1, 2, 2, 3))),), "depth window to evenly divide the input depth",
        {"ksize": [1, 1, 1, 2], "strides": [1, 1, 1, 1], "padding": VALID},
        UnimplementedError),
    Bad("MaxPool", (ONES,), "depth window to equal the depth stride",
        {"ksize": [1, 1, 1, 2], "strides": [1, 1, 1, 1], "padding": VALID},
        UnimplementedError),
    Bad("MaxPool", (ONES,), "Depthwise max pooling does not support explicit padding.",
        {"ksize": [1, 1, 1, 2], "strides": [1, 1, 1, 2], "padding": EXPLICIT,
         "explicit_paddings": [0] * 8}, UnimplementedError),
    Bad("MaxPool", (ONES,), "Sliding window ksize for dimension 1 was zero.",
        {"ksize": [1, 0, 1, 1], "strides": S1, "padding": SAME}),
    Bad("MaxPool", (ONES,), "Length for attr 'strides' of 2 must be at least minimum 4",
        {"ksize": [1, 1, 1, 1], "strides": [1, 1], "padding": SAME}),
    Bad("MaxPool", (f32(np.ones((4, 4))),), "tensor_in must be 4-dimensional",
        {"ksize": [1, 1, 1, 1], "strides": S1, "padding": SAME}),
    Bad("MaxPool", (np.ones((1, 1, 1, 1), np.uint32),), "of uint32 is not in the list",
        {"ksize": [1, 1, 1, 1], "strides": S1, "padding": SAME}),
    Bad("AvgPool", (ONES,), "Value for attr 'padding' of \"EXPLICIT\" is not in the list",
        {"ksize": [1, 1, 1, 1], "strides": S1, "padding": EXPLICIT,
         "explicit_paddings": [0] * 8}),
    Bad("AvgPool", (ONES,), "Computed output size would be negative",
        {"ksize": [1, 6, 1, 1], "strides": S1, "padding": VALID}),
    Bad("AvgPool", (ONES,), "Default AvgPoolingOp only supports NHWC on device type CPU",
        {"ksize": [1, 1, 1, 1], "strides": S1, "padding": SAME, "data_format": NCHW}),
    Bad("AvgPool", (ONES,), "Non-spatial pooling is not yet supported.",
        {"ksize": [1, 1, 1, 2], "strides": [1, 1, 1, 2], "padding": VALID},
        UnimplementedError),
    Bad("AvgPool", (i32(np.ones((1, 1, 1, 1))),), "of int32 is not in the list",
        {"ksize": [1, 1, 1, 1], "strides": S1, "padding": SAME}),
]


def test_conv_matches_reference_on_random_geometry() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        h, w, kh, kw = (int(v) for v in rng.integers(1, 6, 4))
        s, d = (int(v) for v in rng.integers(1, 3, 2))
        x, f = rand((1, h + (kh - 1) * d, w + (kw - 1) * d, 2)), rand((kh, kw, 2, 3))
        attrs = {"strides": [1, s, s, 1], "padding": VALID, "dilations": [1, d, d, 1]}
        check_case(conv_case(x, f, ((0, 0), (0, 0)), attrs))
