"""Eager math over every dtype a TF program commonly uses, and tf.strings.

    .venv-tf/bin/python tests/interop/programs/eager_math.py HOST:PORT

One check per (op, dtype): arithmetic, comparisons, reductions, casts and shaping for
the float, integer, unsigned, complex and bool dtypes (each op only where TensorFlow's
CPU kernels accept that dtype), then the usual tf.strings ops.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf
from _common import Session, main

Binary = Callable[[tf.Tensor, tf.Tensor], object]

FLOATS = [tf.float16, tf.bfloat16, tf.float32, tf.float64]
SIGNED = [tf.int8, tf.int16, tf.int32, tf.int64]
UNSIGNED = [tf.uint8, tf.uint16, tf.uint32, tf.uint64]
COMPLEX = [tf.complex64, tf.complex128]

# Every real dtype (float, signed, unsigned).
REAL_OPS: dict[str, Binary] = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "maximum": tf.maximum,
    "minimum": tf.minimum,
    "equal": tf.equal,
    "not_equal": tf.not_equal,
    "less": lambda a, b: a < b,
    "greater_equal": lambda a, b: a >= b,
    "floordiv": lambda a, b: a // b,
    "floormod": lambda a, b: a % b,
    "square": lambda a, b: tf.square(a),
    "reduce_sum": lambda a, b: tf.reduce_sum(a, axis=1),
    "reduce_prod": lambda a, b: tf.reduce_prod(a),
    "reduce_max": lambda a, b: tf.reduce_max(a, axis=0),
    "reduce_min": lambda a, b: tf.reduce_min(a),
    "reduce_mean": lambda a, b: tf.reduce_mean(a, axis=0),
    "cast_to_float32": lambda a, b: tf.cast(a, tf.float32),
    "cast_from_float32": lambda a, b: tf.cast(tf.constant([[1.7, 2.5, 3.0]]), a.dtype),
    "cast_to_int64": lambda a, b: tf.cast(a, tf.int64),
    "argmax": lambda a, b: tf.argmax(a, axis=1),
    "argmin": lambda a, b: tf.argmin(a, axis=0),
    "cumsum": lambda a, b: tf.cumsum(a, axis=1),
    "transpose": lambda a, b: tf.transpose(a),
    "reshape": lambda a, b: tf.reshape(a, [3, 2]),
    "concat": lambda a, b: tf.concat([a, b], 0),
    "stack": lambda a, b: tf.stack([a, b], axis=1),
    "gather": lambda a, b: tf.gather(a, [1, 0, 1]),
    "where": lambda a, b: tf.where(a > b, a, b),
    "reverse": lambda a, b: tf.reverse(a, [1]),
    "slice": lambda a, b: a[1:, ::2],
    "zeros_like": lambda a, b: tf.zeros_like(a),
    "ones_like": lambda a, b: tf.ones_like(a),
    "fill": lambda a, b: tf.fill([2, 2], a[0, 1]),
    "unique": lambda a, b: tf.unique(tf.reshape(a, [-1])),
    "segment_sum": lambda a, b: tf.math.segment_sum(tf.reshape(a, [-1]), [0, 0, 1, 1, 1, 2]),
    "sort": lambda a, b: tf.sort(a),
    "clip_by_value": lambda a, b: tf.clip_by_value(a, b, b + b),
    "pad": lambda a, b: tf.pad(a, [[1, 0], [0, 2]]),
    "expand_dims": lambda a, b: tf.expand_dims(a, 0),
    "broadcast_to": lambda a, b: tf.broadcast_to(a[0], [3, 3]),
    "tile": lambda a, b: tf.tile(a, [2, 1]),
}

SIGNED_OPS: dict[str, Binary] = {
    "negative": lambda a, b: -a,
    "abs": lambda a, b: tf.abs(a),
    "sign": lambda a, b: tf.sign(a),
    "pow": lambda a, b: tf.pow(a, tf.abs(b)),
}

INTEGER_OPS: dict[str, Binary] = {
    "truediv": lambda a, b: a / b,
    "bitwise_and": tf.bitwise.bitwise_and,
    "bitwise_or": tf.bitwise.bitwise_or,
    "bitwise_xor": tf.bitwise.bitwise_xor,
    "left_shift": lambda a, b: tf.bitwise.left_shift(a, tf.ones_like(a)),
    "right_shift": lambda a, b: tf.bitwise.right_shift(a, tf.ones_like(a)),
    "invert": lambda a, b: tf.bitwise.invert(a),
}

WIDE_INTEGER_OPS: dict[str, Binary] = {  # int32 and int64 only
    "matmul": lambda a, b: tf.matmul(a, b, transpose_b=True),
    "range": lambda a, b: tf.range(tf.cast(1, a.dtype), tf.cast(9, a.dtype), 3),
    "one_hot_indices": lambda a, b: tf.one_hot(tf.abs(a) % 3, 3),
    "squared_difference": tf.math.squared_difference,
}

FLOAT_OPS: dict[str, Binary] = {
    "truediv": lambda a, b: a / b,
    "matmul": lambda a, b: tf.matmul(a, b, transpose_b=True),
    "squared_difference": tf.math.squared_difference,
    "sqrt": lambda a, b: tf.sqrt(tf.abs(a)),
    "rsqrt": lambda a, b: tf.math.rsqrt(tf.abs(a) + 0.5),
    "exp": lambda a, b: tf.exp(a),
    "log": lambda a, b: tf.math.log(tf.abs(a) + 0.5),
    "log1p": lambda a, b: tf.math.log1p(tf.abs(a)),
    "sin": lambda a, b: tf.sin(a),
    "cos": lambda a, b: tf.cos(a),
    "tanh": lambda a, b: tf.tanh(a),
    "sigmoid": lambda a, b: tf.sigmoid(a),
    "erf": lambda a, b: tf.math.erf(a),
    "round": lambda a, b: tf.round(a),
    "floor": lambda a, b: tf.floor(a),
    "ceil": lambda a, b: tf.math.ceil(a),
    "reciprocal": lambda a, b: tf.math.reciprocal(a),
    "atan2": tf.atan2,
    "is_nan": lambda a, b: tf.math.is_nan(a / (a - a)),
    "is_finite": lambda a, b: tf.math.is_finite(a / (b - b)),
    "relu": lambda a, b: tf.nn.relu(a),
    "softmax": lambda a, b: tf.nn.softmax(a),
    "log_softmax": lambda a, b: tf.nn.log_softmax(a),
    "reduce_logsumexp": lambda a, b: tf.reduce_logsumexp(a, axis=1),
    "l2_normalize": lambda a, b: tf.math.l2_normalize(a, axis=1),
}

COMPLEX_OPS: dict[str, Binary] = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "negative": lambda a, b: -a,
    "equal": tf.equal,
    "square": lambda a, b: tf.square(a),
    "abs": lambda a, b: tf.abs(a),
    "conj": lambda a, b: tf.math.conj(a),
    "real": lambda a, b: tf.math.real(a),
    "imag": lambda a, b: tf.math.imag(a),
    "angle": lambda a, b: tf.math.angle(a),
    "exp": lambda a, b: tf.exp(a),
    "sqrt": lambda a, b: tf.sqrt(a),
    "reduce_sum": lambda a, b: tf.reduce_sum(a, axis=0),
    "reduce_prod": lambda a, b: tf.reduce_prod(a),
    "reduce_mean": lambda a, b: tf.reduce_mean(a),
    "matmul": lambda a, b: tf.matmul(a, b, adjoint_b=True),
    "transpose": lambda a, b: tf.transpose(a),
    "concat": lambda a, b: tf.concat([a, b], 1),
    "gather": lambda a, b: tf.gather(a, [1, 1, 0]),
    "complex_from_parts": lambda a, b: tf.complex(tf.math.real(a), tf.math.imag(b)),
    "cast_to_complex128": lambda a, b: tf.cast(a, tf.complex128),
}

BOOL_OPS: dict[str, Binary] = {
    "logical_and": tf.logical_and,
    "logical_or": tf.logical_or,
    "logical_not": lambda a, b: tf.logical_not(a),
    "logical_xor": tf.math.logical_xor,
    "equal": tf.equal,
    "reduce_any": lambda a, b: tf.reduce_any(a, axis=1),
    "reduce_all": lambda a, b: tf.reduce_all(a, axis=0),
    "where_select": lambda a, b: tf.where(a, 1.5, -1.0),
    "where_indices": lambda a, b: tf.where(a),
    "boolean_mask": lambda a, b: tf.boolean_mask(tf.reshape(tf.range(6), [2, 3]), a),
    "cast_to_int32": lambda a, b: tf.cast(a, tf.int32),
    "cast_from_float": lambda a, b: tf.cast(tf.constant([0.0, -2.0, 0.5]), tf.bool),
    "count_true": lambda a, b: tf.math.count_nonzero(a),
    "transpose": lambda a, b: tf.transpose(a),
    "concat": lambda a, b: tf.concat([a, b], 0),
    "gather": lambda a, b: tf.gather(a, [1, 0]),
}

# TensorFlow's CPU kernels lack these (op, dtype) pairs although the op accepts the dtype.
TF_HAS_NO_KERNEL = {("tile", "uint16")}

SIGNED_A = [[-7, 2, 3], [4, -5, 6]]
SIGNED_B = [[3, 2, -1], [1, 4, 2]]
UNSIGNED_A = [[7, 2, 3], [4, 5, 200]]
UNSIGNED_B = [[3, 2, 1], [1, 4, 2]]
FLOAT_A = [[-1.5, 0.25, 2.0], [3.5, -4.0, 0.5]]
FLOAT_B = [[0.5, 2.0, -1.0], [1.5, 1.0, 2.5]]


def operands(dtype: tf.DType) -> tuple[tf.Tensor, tf.Tensor]:
    """Two 2x3 tensors of ``dtype``, built on the current device."""
    if dtype.is_complex:
        real = tf.constant(FLOAT_A, dtype.real_dtype)
        a = tf.complex(real, tf.constant(FLOAT_B, dtype.real_dtype))
        b = tf.complex(tf.constant(FLOAT_B, dtype.real_dtype), real)
        return a, b
    if dtype.is_floating:
        return tf.constant(FLOAT_A, dtype), tf.constant(FLOAT_B, dtype)
    if dtype.is_unsigned:
        return tf.constant(UNSIGNED_A, dtype), tf.constant(UNSIGNED_B, dtype)
    return tf.constant(SIGNED_A, dtype), tf.constant(SIGNED_B, dtype)


def op_case(dtype: tf.DType, op: Binary) -> Callable[[], object]:
    """A case applying ``op`` to the two operands of ``dtype``."""
    return lambda: op(*operands(dtype))


def numeric(session: Session) -> None:
    """One check per (op, dtype) over the numeric dtypes."""
    table: list[tuple[list[tf.DType], dict[str, Binary]]] = [
        (FLOATS + SIGNED + UNSIGNED, REAL_OPS),
        (FLOATS + SIGNED, SIGNED_OPS),
        (SIGNED + UNSIGNED, INTEGER_OPS),
        ([tf.int32, tf.int64], WIDE_INTEGER_OPS),
        (FLOATS, FLOAT_OPS),
        (COMPLEX, COMPLEX_OPS),
    ]
    for dtypes, ops in table:
        for dtype in dtypes:
            for name, op in ops.items():
                if (name, dtype.name) in TF_HAS_NO_KERNEL:
                    continue
                session.compare(f"{name}[{dtype.name}]", op_case(dtype, op))


def booleans(session: Session) -> None:
    """The logical ops on bool tensors."""
    def case(op: Binary) -> Callable[[], object]:
        return lambda: op(tf.constant([[True, False, True], [False, False, True]]),
                          tf.constant([[True, True, False], [False, True, True]]))

    for name, op in BOOL_OPS.items():
        session.compare(f"{name}[bool]", case(op))


WORDS = [b"Hello World", b"  tensor flow  ", b"eager,async,rpc", b"\xc3\xa9t\xc3\xa9 42"]


def strings(session: Session) -> None:
    """tf.strings ops on a small vector of byte strings (one of them UTF-8)."""
    def words() -> tf.Tensor:
        return tf.constant(WORDS)

    cases: dict[str, Callable[[], object]] = {
        "constant[string]": words,
        "as_string[int32]": lambda: tf.strings.as_string(tf.constant([-3, 0, 42])),
        "as_string[int64,width]": lambda: tf.strings.as_string(
            tf.constant([7, 1234], tf.int64), width=6, fill="0"),
        "as_string[float32,precision]": lambda: tf.strings.as_string(
            tf.constant([1.5, -0.125, 3.0]), precision=3),
        "as_string[float64,scientific]": lambda: tf.strings.as_string(
            tf.constant([12345.678, 0.001], tf.float64), scientific=True),
        "as_string[bool]": lambda: tf.strings.as_string(tf.constant([True, False])),
        "join": lambda: tf.strings.join([words(), tf.constant(b"!")], separator="-"),
        "add[string]": lambda: words() + tf.constant(b"?"),
        "equal[string]": lambda: tf.equal(words(), tf.constant(b"Hello World")),
        "length[bytes]": lambda: tf.strings.length(words()),
        "length[utf8]": lambda: tf.strings.length(words(), unit="UTF8_CHAR"),
        "to_number[float32]": lambda: tf.strings.to_number(tf.constant(["3.5", "-2", "1e3"])),
        "to_number[int64]": lambda: tf.strings.to_number(tf.constant(["12", "-7"]), tf.int64),
        "upper": lambda: tf.strings.upper(words()),
        "lower": lambda: tf.strings.lower(words()),
        "substr": lambda: tf.strings.substr(words(), 1, 4),
        "substr[utf8]": lambda: tf.strings.substr(words(), 0, 2, unit="UTF8_CHAR"),
        "split": lambda: tf.strings.split(words()),
        "split[sep]": lambda: tf.strings.split(words(), sep=","),
        "regex_replace": lambda: tf.strings.regex_replace(words(), "[aeiou]", "_"),
        "regex_replace[tensor pattern]": lambda: tf.strings.regex_replace(
            words(), tf.constant("o+"), "0", replace_global=False),
        "regex_full_match": lambda: tf.strings.regex_full_match(words(), ".*o.*"),
        "strip": lambda: tf.strings.strip(words()),
        "reduce_join": lambda: tf.strings.reduce_join(words(), separator="|"),
        "reduce_join[axis]": lambda: tf.strings.reduce_join(
            tf.reshape(words(), [2, 2]), axis=1, separator=","),
        "format": lambda: tf.strings.format("x={} y={}", (tf.constant([1, 2]),
                                                          tf.constant(2.5))),
        "to_hash_bucket_fast": lambda: tf.strings.to_hash_bucket_fast(words(), 100),
        "unicode_decode": lambda: tf.strings.unicode_decode(words()[3:], "UTF-8"),
        "gather[string]": lambda: tf.gather(words(), [3, 0]),
        "reshape_concat[string]": lambda: tf.concat([tf.reshape(words(), [2, 2])] * 2, 1),
    }
    for name, case in cases.items():
        session.compare(name, case)


def run(session: Session) -> None:
    """Every check of this program."""
    numeric(session)
    booleans(session)
    strings(session)


if __name__ == "__main__":
    main(run)
