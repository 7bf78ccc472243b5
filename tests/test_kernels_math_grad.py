"""Records of the gradient kernels: activation and cwise grads, BiasAddGrad,
BroadcastGradientArgs, StridedSliceGrad, ListDiff and the segment reductions.

Expected values come from TensorFlow 2.21's CPU kernels (tf.raw_ops in .venv-tf), down
to the rounding of half types and which elements take Eigen's vector path."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
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
    i8,
    i16,
    i32,
    i64,
    s,
    t,
    u8,
)

from eager_async.errors import InvalidArgumentError, NotFoundError
from eager_async.kernels import lookup

C = Case
F32_MAX = float(np.finfo(np.float32).max)
X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
D = f32([[1, 2], [3, 4], [5, 6], [7, 8]])
I64 = np.dtype(np.int64)
NCHW = {"data_format": b"NCHW"}

# Sigmoid and sqrt grads round differently on Eigen's vector path (whole packets of 8
# halves) and its scalar path (the rest): element 8 takes the scalar one.
SIG_Y = [-2.49, -1.58, 1.81, 0.49, -2.44, -0.4, -0.13, -2.04, 1.41]
SIG_DY = [-2.32, -0.65, 0.1, -0.42, 0.52, 1.43, 2.74, -1.29, 0.89]
SIG_TF = [20.171875, 2.650390625, -0.146484375, -0.1048583984375, -4.36328125, -0.80078125,
          -0.40234375, 7.9921875, -0.5146484375]
SQRT_Y = [-1.43, -1.21, 1.89, -2.45, 0.6, 1.37, -1.87, -2.67, -1.35]
SQRT_DY = [0.94, 0.37, -2.1, -0.4, 1.02, -0.46, 0.8, 2.8, 1.1]
SQRT_TF = [-0.330078125, -0.15234375, -0.55078125, 0.08154296875, 0.8515625, -0.16796875,
           -0.2138671875, -0.5234375, -0.408203125]
RAMP = np.linspace(-1, 1.3, 48).reshape(2, 2, 12) * 7.3
NAN_TAIL = f32(np.array([3, NAN])[:, None] * np.ones((1, 9)))
MIXED = f32([1, NAN, 3, NAN, 2, 5, NAN])

CASES = [
    # ReluGrad / Relu6Grad multiply by the mask: a NaN or inf gradient stays NaN.
    C("ReluGrad", (f32([1, 2, 3, 4]), f32([-1, 0, 1, NAN])), (f32([0, 0, 3, 0]),)),
    C("ReluGrad", (f32([NAN, INF, NAN, INF, 1]), f32([-1, -1, 7, 7, 0])),
      (f32([NAN, NAN, NAN, INF, 0]),), name="nan and inf"),
    C("ReluGrad", (i8([1, 2, 3]), i8([-1, 0, 1])), (i8([0, 0, 3]),), name="int8"),
    C("ReluGrad", (u8([1, 2, 3]), u8([255, 0, 1])), (u8([1, 0, 3]),), name="uint8"),
    C("ReluGrad", (bf16([[1.5]]), bf16([[2]])), (bf16([[1.5]]),), name="bfloat16"),
    C("Relu6Grad", (f32([1, 2, 3, 4, 5]), f32([-1, 0, 6, 5.9, NAN])), (f32([0, 0, 0, 4, 0]),)),
    C("Relu6Grad", (f32([NAN, INF, NAN, INF, 1]), f32([-1, -1, 7, 7, 0])),
      (f32([NAN, NAN, NAN, NAN, 0]),), name="nan and inf"),
    C("Relu6Grad", (i32([1, 2, 3, 4]), i32([-1, 0, 6, 5])), (i32([0, 0, 0, 4]),), name="int32"),
    # EluGrad, SeluGrad and LeakyReluGrad select.
    C("EluGrad", (f32([1, 2, 3, 4]), f32([-0.5, 0, 1, NAN])), (f32([0.5, 2, 3, 4]),)),
    C("EluGrad", (f32([NAN, INF, INF]), f32([-1, -1, 7])), (f32([NAN, NAN, INF]),),
      name="inf times 0"),
    C("SeluGrad", (f32([1, 2, 3, 4]), f32([-0.5, 0, 1, NAN])),
      (f32([1.2580993, 2.101402, 3.152103, 4.202804]),), tol=1e-6),
    C("SeluGrad", (f16([1, 2]), f16([-0.5, 1])), (f16([1.2578125, 2.1015625]),),
      name="float16 constants"),
    C("SeluGrad", (bf16([1, 2]), bf16([-0.5, 1])), (bf16([1.2578125, 2.09375]),),
      name="bfloat16 constants"),
    C("SeluGrad", (f64([1, 2]), f64([-0.5, 1])), (f64([1.2580993408473768, 2.101401974710961]),),
      name="float64", tol=1e-15),
    C("LeakyReluGrad", (f32([1, 2, 3, 4]), f32([-0.5, 0, 1, NAN])),
      (f32([0.3, 0.6, 3, 1.2]),), {"alpha": 0.3}),
    C("LeakyReluGrad", (f16([1, 3]), f16([-1, 1])), (f16([0.0999755859375, 3]),),
      {"alpha": 0.1}, name="float16 alpha"),
    C("LeakyReluGrad", (f32([1, 3]), f32([-1, 1])), (f32([2, 3]),), {"alpha": 2.0},
      name="alpha above 1"),
    C("LeakyReluGrad", (f64([1]), f64([-1])), (f64([np.float32(0.3)]),), {"alpha": 0.3},
      name="float64 alpha is a float32"),
    C("SoftplusGrad", (f32([1, 2, 3, 4]), f32([-100, 0, 100, NAN])), (f32([0, 1, 3, NAN]),)),
    C("SoftplusGrad", (f16([1, 2, 3]), f16([-0.5, 1, 20])),
      (f16([0.377685546875, 1.4619140625, 3]),), name="float16"),
    C("SoftsignGrad", (f32([1, 2, 3, 4]), f32([-1, 0, 3, INF])), (f32([0.25, 2, 0.1875, 0]),)),
    # Cwise grads: y's shape, dy only needs as many elements.
    C("TanhGrad", (f32([0.5, 0, 2, -1]), f32([1, 2, 3, 4])), (f32([0.75, 2, -9, 0]),)),
    C("TanhGrad", (f32([[0.5], [2]]), f32([1, 2])), (f32([[0.75], [-6]]),), name="y's shape"),
    C("TanhGrad", (c64([0.5 + 1j]), c64([1 - 2j])), (c64([-0.25 - 4.5j]),), name="complex"),
    C("TanhGrad", (f32([0, INF, NAN]), f32([0, 0, 0])), (f32([0, NAN, NAN]),), name="dy 0"),
    C("TanhGrad", (f32(np.zeros((0, 3))), f32(np.zeros((3, 0)))), (f32(np.zeros((0, 3))),),
      name="empty"),
    C("SigmoidGrad", (f32([0.5, 0, 2, -1]), f32([1, 2, 3, 4])), (f32([0.25, 0, -6, -8]),)),
    C("SigmoidGrad", (c64([1 + 1j]), c64([1])), (c64([1 - 1j]),), name="complex, no conj"),
    C("SigmoidGrad", (f16(SIG_Y), f16(SIG_DY)), (f16(SIG_TF),), name="float16 vector path"),
    C("SqrtGrad", (f32([0.5, 0, 2, -1]), f32([1, 2, 3, 4])), (f32([1, INF, 0.75, -2]),)),
    C("SqrtGrad", (c64([1 + 1j]), c64([1])), (c64([0.25 + 0.25j]),), name="complex conj"),
    C("SqrtGrad", (f32([0, INF, NAN, 1]), f32([0, 0, 0, -0.0])), (f32([0, 0, 0, 0]),),
      name="dy 0"),
    C("SqrtGrad", (bf16(SQRT_Y), bf16(SQRT_DY)), (bf16(SQRT_TF),), name="bfloat16 vector path"),
    C("SqrtGrad", (bf16([-0.1083984375]), bf16([-0.408203125])), (bf16([1.8828125]),),
      name="bfloat16 scalar path"),
    C("SqrtGrad", (bf16([-0.1083984375] * 8), bf16([-0.408203125] * 8)), (bf16([1.890625] * 8),),
      name="bfloat16 one packet"),
    C("RsqrtGrad", (f32([0.5, 0, 2, -1]), f32([1, 2, 3, 4])), (f32([-0.0625, -0.0, -12, 2]),)),
    C("RsqrtGrad", (c64([1 + 1j]), c64([1])), (c64([1 + 1j]),), name="complex"),
    C("RsqrtGrad", (f16([0.5, 3]), f16([1, 2])), (f16([-0.0625, -27]),), name="float16"),
    C("ReciprocalGrad", (f32([0.5, 0, 2, -1]), f32([1, 2, 3, 4])),
      (f32([-0.25, -0.0, -12, -4]),)),
    C("ReciprocalGrad", (c64([1 + 1j, 0.5 + 1j]), c64([1, 1 - 2j])), (c64([2j, 2.75 - 0.5j]),),
      name="complex"),
    C("ReciprocalGrad", (f64([INF, 0]), f64([0, 0])), (f64([0, 0]),), name="dy 0"),
    C("InvGrad", (f32([0.5, 0, 2, -1]), f32([1, 2, 3, 4])), (f32([-0.25, -0.0, -12, -4]),)),
    C("InvGrad", (f16([[0.5, 3]]), f16([1, 2])), (f16([[-0.25, -18]]),), name="float16"),
    # BiasAddGrad
    C("BiasAddGrad", (X,), (f32([60, 66, 72, 78]),)),
    C("BiasAddGrad", (X,), (f32([60, 92, 124]),), NCHW, name="NCHW"),
    C("BiasAddGrad", (X[0],), (f32([12, 15, 18, 21]),), NCHW, name="NCHW 2-D"),
    C("BiasAddGrad", (X.reshape(2, 3, 2, 1, 1, 2),), (f32([132, 144]),), name="6-D"),
    C("BiasAddGrad", (X.reshape(2, 3, 2, 2, 1, 1),), (f32([60, 92, 124]),), NCHW,
      name="6-D NCHW"),
    C("BiasAddGrad", (f32(np.zeros((0, 3))),), (f32([0, 0, 0]),), name="empty"),
    C("BiasAddGrad", (f32(np.zeros((3, 0))),), (f32(np.zeros(0)),), name="no channels"),
    C("BiasAddGrad", (f32(np.zeros((0, 3, 2))),), (f32([0, 0, 0]),), NCHW, name="NCHW empty"),
    C("BiasAddGrad", (i8(np.full((200, 2), 3)),), (i8([88, 88]),), name="int8 wraps"),
    C("BiasAddGrad", (f16(np.full((10, 3), 0.1)),), (f16([1, 1, 1]),),
      name="float16 in float32"),
    C("BiasAddGrad", (f16(np.full((10, 3, 2), 0.1)),), (f16([2, 2, 2]),), NCHW,
      name="float16 NCHW"),
    C("BiasAddGrad", (bf16(np.full((10, 3), 0.1)),), (bf16([1.0078125] * 3),),
      name="bfloat16 in bfloat16"),
    C("BiasAddGrad", (bf16(np.full((300, 3), 0.1)),), (bf16([32] * 3),),
      name="bfloat16 saturates"),
    C("BiasAddGrad", (bf16(np.full((300, 3, 2), 0.1)),), (bf16([64] * 3),), NCHW,
      name="bfloat16 NCHW sums images first"),
    C("BiasAddGrad", (bf16(RAMP),), (bf16([-25, 78]),), NCHW, name="bfloat16 NCHW packets"),
    C("BiasAddGrad", (f16(RAMP),), (f16([-25.125, 77.75]),), NCHW, name="float16 NCHW packets"),
    C("BiasAddGrad", (c64([[1 + 1j, 2], [3, 4j]]),), (c64([4 + 1j, 2 + 4j]),), name="complex"),
    # BroadcastGradientArgs: equal shapes reduce nothing, even over 1s.
    C("BroadcastGradientArgs", (i32([2, 3, 4]), i32([3, 1])), (i32([]), i32([0, 2]))),
    C("BroadcastGradientArgs", (i32([1]), i32([5])), (i32([0]), i32([]))),
    C("BroadcastGradientArgs", (i32([]), i32([2, 3])), (i32([0, 1]), i32([])), name="scalar"),
    C("BroadcastGradientArgs", (i32([2, 1, 3]), i32([2, 1, 3])), (i32([]), i32([])),
      name="equal"),
    C("BroadcastGradientArgs", (i32([1, 1]), i32([1])), (i32([0, 1]), i32([0, 1])),
      name="all ones"),
    C("BroadcastGradientArgs", (i32([5, 1]), i32([1, 5])), (i32([1]), i32([0])), name="cross"),
    C("BroadcastGradientArgs", (i32([0, 1]), i32([1, 3])), (i32([1]), i32([0])), name="zero"),
    C("BroadcastGradientArgs", (i32([3, 1, 5]), i32([4, 1, 1, 1])), (i32([0, 2]), i32([1, 2, 3])),
      name="ranks"),
    C("BroadcastGradientArgs", (i64([2, 1]), i64([1])), (i64([1]), i64([0, 1])), name="int64"),
    C("BroadcastGradientArgs", (i32([-1, 2]), i32([2])), (i32([]), i32([0])), name="negative"),
    # StridedSliceGrad: zeros, with dy where StridedSlice reads.
    C("StridedSliceGrad", (i32([5]), i32([1]), i32([4]), i32([2]), f32([1, 2])),
      (f32([0, 1, 0, 2, 0]),)),
    C("StridedSliceGrad", (i32([2, 3]), i32([1, 0]), i32([2, 0]), i32([1, 1]), f32([1, 2, 3])),
      (f32([[0, 0, 0], [1, 2, 3]]),), {"shrink_axis_mask": 1, "end_mask": 2}, name="shrink"),
    C("StridedSliceGrad", (i64([3]), i64([2]), i64([0]), i64([-1]), i32([1, 2])), (i32([0, 2, 1]),),
      name="negative stride"),
    C("StridedSliceGrad", (i32([3]), i32([0, 0]), i32([0, 2]), i32([1, 1]), i32([[1, 2]])),
      (i32([1, 2, 0]),), {"new_axis_mask": 1}, name="new axis"),
    C("StridedSliceGrad", (i32([2, 3]), i32([0, 1]), i32([0, 3]), i32([1, 1]),
                           i32([[1, 2], [3, 4]])),
      (i32([[0, 1, 2], [0, 3, 4]]),), {"ellipsis_mask": 1}, name="ellipsis"),
    C("StridedSliceGrad", (i32([3]), i32([0]), i32([3]), i32([2]), s([b"a", b"b"])),
      (s([b"a", b"", b"b"]),), name="strings"),
    C("StridedSliceGrad", (i32([3]), i32([0]), i32([3]), i32([2]), b([True, True])),
      (b([True, False, True]),), name="bool"),
    C("StridedSliceGrad", (i32(np.zeros(0)), i32([0]), i32([0]), i32([1]), f32([5])), (f32(5),),
      {"new_axis_mask": 1}, name="scalar"),
    C("StridedSliceGrad", (i32([0, 2]), i32([0]), i32([1]), i32([1]), f32(np.zeros((0, 2)))),
      (f32(np.zeros((0, 2))),), name="empty"),
    # ListDiff: x's order; NaN is never found, -0.0 is 0.0.
    C("ListDiff", (i32([1, 2, 3, 4, 2]), i32([2, 5])), (i32([1, 3, 4]), i32([0, 2, 3]))),
    C("ListDiff", (f32([NAN, 1, 0]), f32([NAN, -0.0])), (f32([NAN, 1]), i32([0, 1])), name="nan"),
    C("ListDiff", (s([b"a", b"b", b"a", b"c"]), s([b"a"])), (s([b"b", b"c"]), i64([1, 3])),
      {"out_idx": I64}, name="strings"),
    C("ListDiff", (f16([1, 3]), f16([1])), (f16([3]), i32([1])), name="float16"),
    C("ListDiff", (i64(np.zeros(0)), i64([2, 5])), (i64(np.zeros(0)), i32(np.zeros(0))),
      name="empty"),
    # UnsortedSegment*: negative ids dropped; empty segments hold the identity.
    C("UnsortedSegmentSum", (D, i32([0, 2, 0, -1]), i32(4)),
      (f32([[6, 8], [0, 0], [3, 4], [0, 0]]),)),
    C("UnsortedSegmentSum", (f32(1), i32(1), i64(3)), (f32([0, 1, 0]),), name="scalar ids"),
    C("UnsortedSegmentSum", (D.reshape(2, 2, 2), i32([[0, 2], [1, -1]]), i32(3)),
      (f32([[1, 2], [5, 6], [3, 4]]),), name="2-D ids"),
    C("UnsortedSegmentSum", (f32(np.zeros((3, 0))), i32([0, 9, 1]), i32(2)),
      (f32(np.zeros((2, 0))),), name="empty data skips the id check"),
    C("UnsortedSegmentSum", (f16(np.full(5000, 0.1)), i32(np.zeros(5000)), i32(1)), (f16([256]),),
      name="float16 saturates"),
    C("UnsortedSegmentSum", (i8([100, 100, 100]), i16([0, 0, 0]), i32(1)), (i8([44]),),
      name="int16 ids, int8 wraps"),
    C("UnsortedSegmentSum", (f32([-0.0]), i32([0]), i32(1)), (f32([0.0]),), name="zero plus"),
    C("UnsortedSegmentSum", (D, i32([-1] * 4), i32(0)), (f32(np.zeros((0, 2))),), name="none"),
    C("UnsortedSegmentProd", (D, i32([0, 2, 0, -1]), i32(4)),
      (f32([[5, 12], [1, 1], [3, 4], [1, 1]]),)),
    C("UnsortedSegmentProd", (i8([100, 3, 2]), i32([1, 1, 0]), i32(2)), (i8([2, 44]),),
      name="int8 wraps"),
    C("UnsortedSegmentProd", (c64([1 + 1j, 2j]), i64([0, 0]), i64(1)), (c64([-2 + 2j]),),
      name="complex"),
    C("UnsortedSegmentMax", (D, i32([0, 2, 0, -1]), i32(4)),
      (f32([[5, 6], [-F32_MAX] * 2, [3, 4], [-F32_MAX] * 2]),)),
    C("UnsortedSegmentMax", (MIXED, i32([0, 0, 0, 1, 1, 2, 2]), i32(4)),
      (f32([3, 2, NAN, -F32_MAX]),), name="a NaN survives only last"),
    C("UnsortedSegmentMax", (i8([1, 5, 3]), i32([1, 1, 1]), i64(3)), (i8([-128, 5, -128]),),
      name="int8"),
    C("UnsortedSegmentMax", (f16([1, 5, 3]), i32([1, 1, 1]), i64(3)),
      (f16([-65504, 5, -65504]),), name="float16"),
    C("UnsortedSegmentMin", (D, i32([0, 2, 0, -1]), i32(4)),
      (f32([[1, 2], [F32_MAX] * 2, [3, 4], [F32_MAX] * 2]),)),
    C("UnsortedSegmentMin", (MIXED, i32([0, 0, 0, 1, 1, 2, 2]), i32(4)),
      (f32([3, 2, NAN, F32_MAX]),), name="a NaN survives only last"),
    C("UnsortedSegmentMin", (u8([1, 5, 3]), i32([1, 1, 1]), i64(3)), (u8([255, 1, 255]),),
      name="uint8"),
    # Segment*: sorted ids; a gap holds 0 (1 for Prod); one row is copied.
    C("SegmentSum", (D, i32([0, 0, 2, 2])), (f32([[4, 6], [0, 0], [12, 14]]),)),
    C("SegmentSum", (i32([1, 2, 3, 4]), i64([1, 1, 3, 3])), (i32([0, 3, 0, 7]),), name="gap"),
    C("SegmentSum", (f32([-0.0, -0.0, -0.0]), i32([0, 1, 1])), (f32([-0.0, 0.0]),),
      name="one row is copied"),
    C("SegmentSum", (f32(np.zeros((0, 2))), i32(np.zeros(0))), (f32(np.zeros((0, 2))),),
      name="empty"),
    C("SegmentSum", (c64([1 + 1j, 2]), i64([0, 0])), (c64([3 + 1j]),), name="complex"),
    C("SegmentMean", (D, i32([0, 0, 2, 2])), (f32([[2, 3], [0, 0], [6, 7]]),)),
    C("SegmentMean", (i32([-1, -2, 1, 2, 4]), i32([0, 0, 1, 1, 1])), (i32([-1, 2]),),
      name="int truncates"),
    C("SegmentMean", (i8([100, 100, 100]), i32([0, 0, 0])), (i8([14]),), name="int8 wraps"),
    C("SegmentMean", (f16([1, 2, 4]), i64([0, 0, 0])), (f16([2.333984375]),), name="float16"),
    C("SegmentMean", (c64([NAN + 2j, 1 + 1j, 4 - 2j, NAN + 1j]), i32([0, 0, 1, 2])),
      (c64([complex(NAN, NAN), 4 - 2j, NAN + 1j]),), name="complex NaN"),
    C("SegmentProd", (D, i32([0, 0, 2, 2])), (f32([[3, 8], [1, 1], [35, 48]]),)),
    C("SegmentProd", (u8([1, 2, 4]), i64([1, 1, 1])), (u8([1, 8]),), name="uint8 gap"),
    C("SegmentMax", (D, i32([0, 0, 2, 2])), (f32([[3, 4], [0, 0], [7, 8]]),)),
    C("SegmentMax", (MIXED, i32([0, 0, 0, 2, 2, 3, 3])), (f32([3, 0, 2, NAN]),),
      name="a NaN survives only last"),
    C("SegmentMax", (NAN_TAIL, i32([0, 0])), (f32([[3] * 8 + [NAN]]),),
      name="the vector path skips NaN"),
    C("SegmentMax", (f32(np.full((1, 9), NAN)), i32([0])), (f32(np.full((1, 9), NAN)),),
      name="one row is copied"),
    C("SegmentMax", (f64(NAN_TAIL[:, :5]), i32([0, 0])), (f64([[3] * 4 + [NAN]]),),
      name="float64 packets of 4"),
    C("SegmentMin", (D, i32([0, 0, 2, 2])), (f32([[1, 2], [0, 0], [5, 6]]),)),
    C("SegmentMin", (f32(np.full((2, 8), NAN)), i32([0, 0])), (f32([[INF] * 8]),),
      name="all NaN on the vector path"),
    C("SegmentMin", (f32([3, NAN]), i32([0, 0])), (f32([NAN]),), name="one column"),
]

ListDiffCases = {"ListDiff"}
CASES = [replace(c, data_dependent=True) if c.op in ListDiffCases else c for c in CASES]

F, N, L = np.float32, np.int32, np.int64
INFERENCE = [
    Inference("ReluGrad", (t(F, (2, -1)), t(F, (-1, 3))), (t(F, (2, 3)),)),
    Inference("ReluGrad", (t(F, None), t(F, (-1, 3))), (t(F, (-1, 3)),)),
    Inference("TanhGrad", (t(F, (2, -1)), t(F, (6,))), (t(F, (2, -1)),)),
    Inference("BiasAddGrad", (t(F, (-1, 5, 7)),), (t(F, (7,)),)),
    Inference("BiasAddGrad", (t(F, (-1, 5, 7)),), (t(F, (5,)),), NCHW),
    Inference("BiasAddGrad", (t(F, None),), (t(F, (-1,)),)),
    Inference("BroadcastGradientArgs", (t(N, (2,)), t(N, (3,))), (t(N, (-1,)), t(N, (-1,)))),
    Inference("StridedSliceGrad", (t(N, (3,)), t(N, (1,)), t(N, (1,)), t(N, (1,)), t(F, None)),
              (t(F, (-1, -1, -1)),)),
    Inference("StridedSliceGrad",
              (t(N, (2,), [4, 5]), t(N, (1,)), t(N, (1,)), t(N, (1,), [1]), t(F, (-1, 5))),
              (t(F, (4, 5)),)),
    Inference("ListDiff", (t(F, (-1,)), t(F, None)), (t(F, (-1,)), t(N, (-1,)))),
    Inference("UnsortedSegmentSum", (t(F, (4, -1, 3)), t(N, (4, -1)), t(N, ())),
              (t(F, (-1, 3)),)),
    Inference("UnsortedSegmentMax", (t(F, (4, 3)), t(N, (-1,)), t(L, (), 7)), (t(F, (7, 3)),)),
    Inference("UnsortedSegmentSum", (t(F, None), t(N, (4,)), t(N, (), 2)), (t(F, None),)),
    Inference("SegmentMean", (t(F, (-1, 2)), t(N, (-1,))), (t(F, (-1, 2)),)),
    Inference("SegmentSum", (t(F, (3, 2)), t(N, (3,), [0, 0, 4])), (t(F, (5, 2)),)),
]

DEBUG = "Inputs to operation {0} of type {0} must have the same size and shape.  Input 0: [3] " \
        "!= input 1: [2]"
CWISE = "The two arguments to a cwise op must have same number of elements, got 3 and 2"
SLICE = (i32([1]), i32([4]), i32([2]))
ERRORS = [
    *(Bad(op, (f32([1, 2, 3]), f32([1, 2])), DEBUG.format(op))
      for op in ("ReluGrad", "Relu6Grad", "EluGrad", "SeluGrad", "LeakyReluGrad",
                 "SoftplusGrad", "SoftsignGrad")),
    Bad("ReluGrad", (f32([1, 2]), f32([[1, 2]])), "Input 0: [2] != input 1: [1,2]"),
    Bad("LeakyReluGrad", (i32([1]), i32([1])), "attr 'T' of int32 is not in the list"),
    Bad("EluGrad", (i32([1]), i32([1])), "attr 'T' of int32 is not in the list"),
    *(Bad(op, (f32([0.5, 0, 2]), f32([1, 2])), CWISE)
      for op in ("TanhGrad", "SigmoidGrad", "SqrtGrad", "RsqrtGrad", "ReciprocalGrad", "InvGrad")),
    Bad("TanhGrad", (f32([1]), f64([1])), "was expected to be a float tensor but is a double"),
    Bad("BiasAddGrad", (f32([1, 2, 3, 4]),), "Input tensor must be at least 2D: [4]"),
    Bad("BiasAddGrad", (f32(1),), "Input tensor must be at least 2D: []", NCHW),
    Bad("BiasAddGrad", (X,), "attr 'data_format' of \"NDHWC\" is not in the list",
        {"data_format": b"NDHWC"}),
    Bad("BroadcastGradientArgs", (i32([2, 3]), i32([4, 3])),
        "Incompatible shapes: [2,3] vs. [4,3]"),
    Bad("BroadcastGradientArgs", (i32([0]), i32([2])), "Incompatible shapes: [0] vs. [2]"),
    Bad("BroadcastGradientArgs", (i32([[1]]), i32([1])), "In[0] must be a vector.[1,1]"),
    Bad("BroadcastGradientArgs", (i32([1]), i32(1)), "In[1] must be a vector.[]"),
    Bad("BroadcastGradientArgs", (i16([1]), i16([1])), "attr 'T' of int16 is not in the list"),
    Bad("StridedSliceGrad", (i32([5]), *SLICE, f32([1, 2, 3])),
        "shape of dy was [3] instead of [2]"),
    Bad("StridedSliceGrad", (i32([5]), *SLICE, f32([[1, 2]])),
        "shape of dy was [1,2] instead of [2]"),
    Bad("StridedSliceGrad", (i32([[5]]), *SLICE, f32([1, 2])),
        "shape must be 1-D, got shape.shape = [1,1]"),
    Bad("StridedSliceGrad", (i32(5), *SLICE, f32([1, 2])),
        "shape must be 1-D, got shape.shape = []"),
    Bad("StridedSliceGrad", (i32([-5]), *SLICE, f32([1, 2])), "Dimension -5 must be >= 0"),
    Bad("StridedSliceGrad", (i32([5]), i32([1]), i32([4]), i32([0]), f32([1, 2])),
        "strides[0] must be non-zero"),
    Bad("StridedSliceGrad", (i32([5]), i32([1, 2]), i32([4]), i32([1]), f32([1])),
        "Expected begin, end, and strides to be 1D equal size tensors, but got shapes [2], [1], "
        "and [1] instead."),
    Bad("StridedSliceGrad", (i32([2]), i32([[0]]), i32([[1]]), i32([[1]]), f32([1])),
        "but got shapes [1,1], [1,1], and [1,1] instead."),
    Bad("StridedSliceGrad", (i32([2]), i32([0] * 32), i32([0] * 32), i32([1] * 32), f32([1, 2])),
        "but got shapes [32], [32], and [32] instead.", {"ellipsis_mask": 1}),
    Bad("StridedSliceGrad", (i32([2, 3]), i32([5]), i32([6]), i32([1]), f32([1, 2, 3])),
        "slice index 5 of dimension 0 out of bounds.", {"shrink_axis_mask": 1}),
    Bad("StridedSliceGrad", (i32([2]), i32([0, 1]), i32([0, 3]), i32([1, 1]), f32([1])),
        "Index out of range using input dim 1; input has only 1 dims"),
    Bad("StridedSliceGrad", (i32([2, 3]), i32([0, 1]), i32([0, 3]), i32([1, 1]), f32([1])),
        "Multiple ellipses in slice spec not allowed", {"ellipsis_mask": 3}),
    Bad("StridedSliceGrad", (i32(np.zeros(0)), i32([0]), i32([1]), i32([1]), f32([1])),
        "Attempting to slice scalar input."),
    Bad("ListDiff", (i32([[1]]), i32([2, 5])), "x should be a 1D vector."),
    Bad("ListDiff", (i32(1), i32([2, 5])), "x should be a 1D vector."),
    Bad("ListDiff", (i32([1]), i32([[2, 5]])), "y should be a 1D vector."),
    Bad("ListDiff", (b([True]), b([False])), "Could not find a CPU kernel for ListDiff",
        error=NotFoundError),
    *(Bad(op, (D, i32([0, 2, 5, -1]), i32(4)), "segment_ids[2] = 5 is out of range [0, 4)")
      for op in ("UnsortedSegmentSum", "UnsortedSegmentMax", "UnsortedSegmentMin",
                 "UnsortedSegmentProd")),
    Bad("UnsortedSegmentSum", (f32(np.ones((2, 2, 2))), i32([[0, 1], [1, 7]]), i32(3)),
        "segment_ids[1,1] = 7 is out of range [0, 3)"),
    Bad("UnsortedSegmentSum", (f32(1), i32(5), i32(2)), "segment_ids = 5 is out of range [0, 2)"),
    Bad("UnsortedSegmentSum", (D, i32([0, 2]), i32(3)),
        "data.shape = [4,2] does not start with segment_ids.shape = [2]"),
    Bad("UnsortedSegmentSum", (f32(1), i32([0]), i32(2)),
        "data.shape = [] does not start with segment_ids.shape = [1]"),
    Bad("UnsortedSegmentMax", (D, i32([0, 0, 0, 0]), i32(-1)),
        "Input num_segments == -1 must not be negative."),
    Bad("UnsortedSegmentProd", (D, i32([0, 0, 0, 0]), i32([2])),
        "num_segments should be a scalar, not shape [1]"),
    Bad("UnsortedSegmentMin", (c64([1j]), i32([0]), i32(1)), "attr 'T' of complex64 is not in"),
    Bad("UnsortedSegmentMax", (f32([1]), i16([0]), i32(1)),
        "attr 'Tindices' of int16 is not in the list"),
    *(Bad(op, (D, i32([0, 2, 1, 2])), "segment ids are not increasing")
      for op in ("SegmentSum", "SegmentMean", "SegmentMax", "SegmentMin", "SegmentProd")),
    Bad("SegmentSum", (D, i32([-1, 0, 0, 1])), "Segment id -1 out of range [0, 2), possibly "
        "because 'segment_ids' input is not sorted."),
    Bad("SegmentMean", (D, i32([0, 0, -1, 1])), "segment ids are not increasing"),
    Bad("SegmentMax", (D, i32([5, 6, 2, 2])), "Segment id 5 out of range [0, 3)"),
    Bad("SegmentProd", (f32([1, 2]), i32([-3, -2])), "segment ids must be >= 0"),
    Bad("SegmentMin", (f32([1]), i32([-1])), "segment ids must be >= 0"),
    Bad("SegmentSum", (f32(1), i32(0)), "input must be at least rank 1"),
    Bad("SegmentMean", (D, i32([[0, 0], [1, 1]])), "segment_ids should be a vector."),
    Bad("SegmentProd", (D, i32([0, 0, 1])),
        "segment_ids should be the same size as dimension 0 of input."),
    Bad("SegmentSum", (f32(np.zeros((3, 0))), i32([0, 2, 1])), "segment ids are not increasing"),
    Bad("SegmentMax", (c64([1j]), i32([0])), "attr 'T' of complex64 is not in the list"),
]


# --- properties -------------------------------------------------------------------------


def test_segment_ids_of_int16_are_checked_by_the_kernel() -> None:
    # The shape rule may read only int32/int64 values (the memo of shapes relies on it).
    spec = lookup("UnsortedSegmentSum")
    inputs = [f32([1, 2]), i16([0, 3]), i32(2)]
    shape = spec.shapes([t(F, (2,)), t(np.int16, (2,), [0, 3]), t(N, (), 2)], {})
    assert shape[0].shape == (2,)
    with pytest.raises(InvalidArgumentError, match=r"segment_ids\[1\] = 3 is out of range"):
        spec.run(inputs, {})


masks = st.integers(0, 15)


@given(
    st.lists(st.integers(0, 4), min_size=0, max_size=3),
    st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5), st.sampled_from([-2, -1, 1, 2])),
             min_size=1, max_size=4),
    masks, masks, masks, masks, masks,
)
def test_strided_slice_grad_is_the_adjoint_of_strided_slice(
    shape: list[int], spec: list[tuple[int, int, int]], begin_mask: int, end_mask: int,
    ellipsis_mask: int, new_axis_mask: int, shrink_axis_mask: int,
) -> None:  # fmt: skip
    attrs = {
        "begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
        "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask,
    }  # fmt: skip
    begin, end, strides = (i32([s[k] for s in spec]) for k in range(3))
    x = np.arange(1, 1 + int(np.prod(shape)), dtype=np.float64).reshape(shape)
    try:
        (sliced,) = lookup("StridedSlice").run([x, begin, end, strides], attrs)
    except InvalidArgumentError:
        with pytest.raises(InvalidArgumentError):
            lookup("StridedSliceGrad").run(
                [i32(shape), begin, end, strides, np.zeros(0)], attrs)
        return
    # Every element of the slice goes back to the one place it was read from.
    (grad,) = lookup("StridedSliceGrad").run([i32(shape), begin, end, strides, sliced], attrs)
    assert grad.shape == x.shape
    picked = grad != 0
    assert np.array_equal(grad[picked], x[picked])
    assert np.count_nonzero(picked) == sliced.size
    (again,) = lookup("StridedSlice").run([grad, begin, end, strides], attrs)
    assert np.array_equal(again, sliced)


@given(st.lists(st.integers(0, 3), max_size=4), st.lists(st.integers(0, 3), max_size=4))
def test_broadcast_gradient_args_sums_back_to_each_shape(s0: list[int], s1: list[int]) -> None:
    try:
        out = np.broadcast_shapes(tuple(s0), tuple(s1))
    except ValueError:
        with pytest.raises(InvalidArgumentError, match="Incompatible shapes"):
            lookup("BroadcastGradientArgs").run([i32(s0), i32(s1)], {})
        return
    r0, r1 = lookup("BroadcastGradientArgs").run([i32(s0), i32(s1)], {})
    grad = np.ones(out)
    for shape, axes in ((s0, r0), (s1, r1)):
        assert list(axes) == sorted(set(axes.tolist()))
        assert np.sum(grad, axis=tuple(axes.tolist())).size == int(np.prod(shape))


@given(
    st.lists(st.integers(-1, 4), max_size=12),
    st.sampled_from(["UnsortedSegmentSum", "UnsortedSegmentProd", "UnsortedSegmentMax",
                     "UnsortedSegmentMin"]),
)
def test_unsorted_segments_match_a_loop(ids: list[int], op: str) -> None:
    data = np.round(np.linspace(-2, 3, 2 * len(ids)), 1).reshape(len(ids), 2).astype(np.float64)
    init, fold = {
        "UnsortedSegmentSum": (0.0, np.add), "UnsortedSegmentProd": (1.0, np.multiply),
        "UnsortedSegmentMax": (-np.finfo(np.float64).max, np.maximum),
        "UnsortedSegmentMin": (np.finfo(np.float64).max, np.minimum),
    }[op]  # fmt: skip
    want = np.full((5, 2), init)
    for row, j in zip(data, ids, strict=True):
        if j >= 0:
            want[j] = fold(want[j], row)
    (got,) = lookup(op).run([data, i32(ids), i32(5)], {})
    np.testing.assert_allclose(got, want, rtol=1e-12)
