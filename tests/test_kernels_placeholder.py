"""Records of PlaceholderWithDefault (``eager_async.kernels.array_ops.placeholder``):
TF 2.21's kernel passes its input through whatever the ``shape`` attr says
(``tf.raw_ops.PlaceholderWithDefault(input=[1., 2.], shape=[3])`` gives [1., 2.])."""

from __future__ import annotations

from kernel_records import Bad, Case, f32, s

CASES = [
    Case("PlaceholderWithDefault", (f32([1, 2]),), (f32([1, 2]),), {"shape": (2,)}),
    Case(
        "PlaceholderWithDefault",
        (f32([[1, 2]]),),
        (f32([[1, 2]]),),
        {"shape": (-1, 2)},
        name="partial shape",
    ),
    Case(
        "PlaceholderWithDefault",
        (f32([1, 2]),),
        (f32([1, 2]),),
        {"shape": (3,)},
        name="shape attr not enforced",
    ),
    Case("PlaceholderWithDefault", (s([b"a"]),), (s([b"a"]),), {"shape": None}, name="string"),
]

ERRORS = [
    Bad("PlaceholderWithDefault", (f32(1),), "missing attr 'shape'"),
]
