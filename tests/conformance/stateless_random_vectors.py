"""Write TensorFlow 2.21's stateless random ops' outputs and errors, as data, to
``tests/vectors/stateless_random.json`` for ``tests/test_stateless_random.py``.

Run with the TF venv's Python; eager_async never imports TensorFlow::

    .venv-tf/bin/python tests/conformance/stateless_random_vectors.py \\
        tests/vectors/stateless_random.json [--intra-op-threads N]

The file is one JSON object:

- ``meta``: the TensorFlow, NumPy and C library versions, and TF's intra-op thread count
  (the outputs must not depend on it: run with 1 and with 8 and compare ``cases``).
- ``cases``: ``{op, inputs, attrs, outputs}``. An input is ``{dtype, shape, values}``
  (flat, C order; uint64 values as JSON integers). An output is ``{dtype, shape, sha256}``
  of its raw little-endian bytes, plus ``hex`` (all its bytes) when it is small or
  ``head_hex`` (its first 8 elements) when not. dtypes are NumPy names (``bfloat16`` as
  in ml_dtypes).
- ``errors``: ``{op, inputs, attrs, code, message}``: TF's gRPC status code and message,
  without the ``{{function_node ...}}`` prefix and ``[Op:...]`` suffix eager adds.
- ``libm``: sha256 of the C library's ``logf`` and ``sincosf`` over every input TF's float
  Box-Muller can give them (the 2**23 values a 23-bit mantissa makes), computed through
  ctypes: what TF's kernels call, for checking a reimplementation of them exhaustively.

While writing, every stream's small outputs are checked to be prefixes of its large
ones: TF gives each element a fixed place in the stream, whatever the output's size or
its split among threads.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import os
import platform
import re
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import numpy as np
import tensorflow as tf

U64_MAX = 2**64 - 1
I32_MIN, I32_MAX = -(2**31), 2**31 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
FLOATS = ("float16", "bfloat16", "float32", "float64")
SMALL_BYTES = 256

# (key, counter) streams: a plain one, a seed's, a low counter word about to carry into
# the high one, and a counter about to wrap around 2**128.
STREAMS = {
    "plain": ([123], [5, 0]),
    "seeded": None,  # filled from StatelessRandomGetKeyCounter([1, 2])
    "carry": ([U64_MAX], [U64_MAX - 2, 7]),
    "wrap": ([0], [U64_MAX - 1, U64_MAX]),
}
SEEDS = [("int32", [1, 2]), ("int64", [-1, 7]), ("int64", [2**40, -(2**50)]),
         ("int32", [I32_MIN, I32_MAX]), ("int64", [0, 0])]  # fmt: skip
SMALL_SHAPES = [[], [7], [3, 5], [2, 0, 3]]
INT_RANGES = {
    "int32": [(0, 10), (-5, 5), (I32_MIN, I32_MAX), (100, 101), (-7, 1_000_003)],
    "int64": [(0, 10), (I64_MIN, I64_MAX), (-5, 2**40 + 3), (2**62, I64_MAX)],
}


def tensor(dtype: str, values: Any) -> dict[str, Any]:
    array = np.asarray(values, dtype=np.dtype(dtype))
    return {"dtype": dtype, "shape": list(array.shape), "values": array.ravel().tolist()}


def _tf_input(spec: dict[str, Any]) -> tf.Tensor:
    values = np.array(spec["values"], dtype=np.dtype(spec["dtype"])).reshape(spec["shape"])
    return tf.constant(values)


def _digest(array: np.ndarray) -> dict[str, Any]:
    data = np.ascontiguousarray(array).tobytes()  # x86: little-endian already
    name = "bfloat16" if array.dtype == tf.bfloat16.as_numpy_dtype else array.dtype.name
    out = {"dtype": name, "shape": list(array.shape), "sha256": hashlib.sha256(data).hexdigest()}
    if len(data) <= SMALL_BYTES:
        out["hex"] = data.hex()
    else:
        out["head_hex"] = data[: 8 * array.dtype.itemsize].hex()
    return out


def run(op: str, inputs: list[dict[str, Any]], attrs: dict[str, Any]) -> list[np.ndarray]:
    fn = getattr(tf.raw_ops, op)
    names = [arg.name for arg in _op_def(op).input_arg]
    kwargs = {name: _tf_input(spec) for name, spec in zip(names, inputs, strict=True)}
    kwargs.update({k: tf.as_dtype(v) for k, v in attrs.items()})
    with tf.device("/CPU:0"):
        result = fn(**kwargs)
    results = result if isinstance(result, list | tuple) else [result]
    return [r.numpy() for r in results]


def _op_def(op: str) -> Any:
    from tensorflow.python.framework import op_def_registry

    return op_def_registry.get(op)


class Writer:
    def __init__(self) -> None:
        self.cases: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []

    def case(self, op: str, inputs: list[dict[str, Any]], **attrs: str) -> list[np.ndarray]:
        outputs = run(op, inputs, attrs)
        self.cases.append({"op": op, "inputs": inputs, "attrs": attrs,
                           "outputs": [_digest(o) for o in outputs]})  # fmt: skip
        return outputs

    def error(self, op: str, inputs: list[dict[str, Any]], **attrs: str) -> None:
        try:
            run(op, inputs, attrs)
        except tf.errors.OpError as e:
            message = re.sub(r"^\{\{function_node [^}]*\}\} ", "", e.message)
            message = re.sub(r" \[Op:\w+\]( name: )?$", "", message)
            self.errors.append({"op": op, "inputs": inputs, "attrs": attrs,
                                "code": e.error_code, "message": message})  # fmt: skip
            return
        raise AssertionError(f"{op} {inputs} {attrs} did not fail")


def _same_prefix(small: np.ndarray, big: np.ndarray) -> None:
    flat = small.ravel()
    assert np.array_equal(flat.view(np.uint8), big.ravel()[: flat.size].view(np.uint8))


def stream_inputs(name: str, alg: int = 1) -> list[dict[str, Any]]:
    key, counter = STREAMS[name]  # type: ignore[misc]
    return [tensor("uint64", key), tensor("uint64", counter), tensor("int32", alg)]


def v2_cases(w: Writer) -> None:
    for stream in STREAMS:
        big = 100_003 if stream in ("plain", "seeded") else 1001
        for op in ("StatelessRandomUniformV2", "StatelessRandomNormalV2",
                    "StatelessTruncatedNormalV2"):  # fmt: skip
            for dtype in FLOATS:
                (whole,) = w.case(op, [tensor("int32", [big]), *stream_inputs(stream)], dtype=dtype)
                for shape in SMALL_SHAPES:
                    (part,) = w.case(op, [tensor("int64", shape), *stream_inputs(stream)],
                                     dtype=dtype)  # fmt: skip
                    _same_prefix(part, whole)
        for dtype, ranges in INT_RANGES.items():
            for low, high in ranges:
                bounds = [tensor(dtype, low), tensor(dtype, high)]
                (whole,) = w.case("StatelessRandomUniformIntV2",
                                  [tensor("int32", [1001]), *stream_inputs(stream), *bounds])
                (part,) = w.case("StatelessRandomUniformIntV2",
                                 [tensor("int32", [2, 3]), *stream_inputs(stream), *bounds])
                _same_prefix(part, whole)
        for dtype in ("int32", "int64", "uint32", "uint64"):
            (whole,) = w.case("StatelessRandomUniformFullIntV2",
                              [tensor("int32", [1001]), *stream_inputs(stream)], dtype=dtype)
            (part,) = w.case("StatelessRandomUniformFullIntV2",
                             [tensor("int32", [7]), *stream_inputs(stream)], dtype=dtype)
            _same_prefix(part, whole)
    # Auto-select (3) is Philox on CPU; large tensors split among threads.
    for op in ("StatelessRandomUniformV2", "StatelessRandomNormalV2",
               "StatelessTruncatedNormalV2"):  # fmt: skip
        w.case(op, [tensor("int32", [4, 5]), *stream_inputs("plain", alg=3)], dtype="float32")
        w.case(op, [tensor("int32", [1000, 1000]), *stream_inputs("seeded")], dtype="float32")
    w.case("StatelessRandomNormalV2", [tensor("int32", [300_001]), *stream_inputs("seeded")],
           dtype="float64")  # fmt: skip
    w.case("StatelessTruncatedNormalV2", [tensor("int32", [300_001]), *stream_inputs("seeded")],
           dtype="float64")  # fmt: skip


def v1_cases(w: Writer) -> None:
    for seed_dtype, seed in SEEDS:
        seed_t = tensor(seed_dtype, seed)
        for op in ("StatelessRandomUniform", "StatelessRandomNormal", "StatelessTruncatedNormal"):
            for dtype in FLOATS:
                (whole,) = w.case(op, [tensor("int32", [1001]), seed_t], dtype=dtype)
                (part,) = w.case(op, [tensor("int64", [2, 3]), seed_t], dtype=dtype)
                _same_prefix(part, whole)
        for dtype, ranges in INT_RANGES.items():
            for low, high in ranges[:3]:
                w.case("StatelessRandomUniformInt",
                       [tensor("int32", [1001]), seed_t, tensor(dtype, low), tensor(dtype, high)])
        for dtype in ("int32", "int64", "uint32", "uint64"):
            w.case("StatelessRandomUniformFullInt", [tensor("int32", [1001]), seed_t], dtype=dtype)
        w.case("StatelessRandomGetKeyCounter", [seed_t])
        w.case("StatelessRandomGetKeyCounterAlg", [seed_t])
    w.case("StatelessRandomGetAlg", [])


def error_cases(w: Writer) -> None:
    shape, key, counter, alg = (tensor("int32", [2]), tensor("uint64", [1]),
                                tensor("uint64", [2, 3]), tensor("int32", 1))  # fmt: skip
    uniform = "StatelessRandomUniformV2"
    w.error(uniform, [shape, tensor("uint64", 1), counter, alg], dtype="float32")
    w.error(uniform, [shape, tensor("uint64", [1, 2]), counter, alg], dtype="float32")
    w.error(uniform, [shape, key, tensor("uint64", 2), alg], dtype="float32")
    w.error(uniform, [shape, key, tensor("uint64", [[2, 3], [4, 5]]), alg], dtype="float32")
    w.error(uniform, [shape, key, tensor("uint64", []), alg], dtype="float32")
    for bad_alg in (2, 0, 5, -1):
        w.error(uniform, [shape, key, counter, tensor("int32", bad_alg)], dtype="float32")
    w.error(uniform, [shape, key, tensor("uint64", [7]), tensor("int32", 2)], dtype="float32")
    w.error(uniform, [shape, key, tensor("uint64", []), tensor("int32", 0)], dtype="float32")
    w.error(uniform, [shape, key, counter, tensor("int32", [1])], dtype="float32")
    w.error(uniform, [tensor("int32", [2, -1]), key, counter, alg], dtype="float32")
    w.error(uniform, [tensor("int64", [-5]), key, counter, alg], dtype="float32")
    w.error(uniform, [tensor("int32", [[2]]), key, counter, alg], dtype="float32")
    w.error(uniform, [tensor("int32", 3), key, counter, alg], dtype="float32")
    w.error(uniform, [tensor("int64", [2**40, 2**40]), key, counter, alg], dtype="float32")
    w.error(uniform, [tensor("int32", [-1]), tensor("uint64", [1, 2]), counter, alg],
            dtype="float32")  # fmt: skip
    for op in ("StatelessRandomNormalV2", "StatelessTruncatedNormalV2",
               "StatelessRandomUniformFullIntV2"):  # fmt: skip
        w.error(op, [shape, key, counter, tensor("int32", 2)])
        w.error(op, [shape, tensor("uint64", [1, 2]), counter, alg])
    uniform_int = "StatelessRandomUniformIntV2"
    w.error(uniform_int, [shape, key, counter, alg, tensor("int32", 5), tensor("int32", 5)])
    w.error(uniform_int, [shape, key, counter, alg, tensor("int64", 7), tensor("int64", -3)])
    w.error(uniform_int, [shape, key, counter, alg, tensor("int32", [1]), tensor("int32", 5)])
    w.error(uniform_int, [shape, key, counter, alg, tensor("int32", 1), tensor("int32", [5])])
    w.error(uniform_int, [shape, key, counter, tensor("int32", 2), tensor("int32", 5),
                          tensor("int32", 1)])  # fmt: skip
    seed = tensor("int64", [1, 2])
    for op in ("StatelessRandomUniform", "StatelessRandomNormal", "StatelessTruncatedNormal",
               "StatelessRandomUniformFullInt"):  # fmt: skip
        w.error(op, [shape, tensor("int64", [1, 2, 3])])
        w.error(op, [shape, tensor("int32", [[1], [2]])])
        w.error(op, [tensor("int32", [-2]), seed])
        w.error(op, [tensor("int32", [-2]), tensor("int64", [1, 2, 3])])
        w.error(op, [tensor("int32", [0]), tensor("int64", [1, 2, 3])])
    for seed_dtype in ("uint32", "uint64"):
        w.error("StatelessRandomUniformFullInt", [shape, tensor(seed_dtype, [1, 2])],
                dtype="int64")  # fmt: skip
    v1_int = "StatelessRandomUniformInt"
    w.error(v1_int, [shape, seed, tensor("int32", 3), tensor("int32", 1)])
    w.error(v1_int, [shape, seed, tensor("int32", [3]), tensor("int32", 10)])
    w.error(v1_int, [shape, tensor("int64", [1]), tensor("int32", 3), tensor("int32", 1)])
    for op in ("StatelessRandomGetKeyCounter", "StatelessRandomGetKeyCounterAlg"):
        w.error(op, [tensor("int32", [1, 2, 3])])
        w.error(op, [tensor("int64", 1)])
    # Not errors, though they look like them: an empty output needs no valid alg or bounds.
    w.case(uniform, [tensor("int32", [0]), key, counter, tensor("int32", 2)], dtype="float32")
    w.case(uniform_int, [tensor("int32", [0]), key, counter, alg, tensor("int32", 5),
                         tensor("int32", 5)])  # fmt: skip
    w.case(v1_int, [tensor("int32", [0]), seed, tensor("int32", 3), tensor("int32", 1)])
    w.case("StatelessRandomUniformFullInt", [tensor("int32", [0]), tensor("uint32", [1, 2])],
           dtype="int32")  # fmt: skip


def libm_digests() -> dict[str, Any]:
    """The C library's logf and sincosf over Box-Muller's inputs (module doc)."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.logf.restype, libm.logf.argtypes = ctypes.c_float, [ctypes.c_float]
    sincosf = libm.sincosf
    sincosf.argtypes = [ctypes.c_float, ctypes.c_void_p, ctypes.c_void_p]
    mantissas = np.arange(2**23, dtype=np.uint32)
    unit = (mantissas | np.uint32(0x3F800000)).view(np.float32) - np.float32(1)
    radii = np.maximum(unit, np.float32(1e-7))
    angles = (2 * np.pi * unit.astype(np.float64)).astype(np.float32)
    logs = np.fromiter(map(libm.logf, radii.tolist()), np.float32, radii.size)
    sines, cosines = np.empty_like(angles), np.empty_like(angles)
    sin_at, cos_at = sines.ctypes.data, cosines.ctypes.data
    for i, angle in enumerate(angles.tolist()):
        sincosf(ctypes.c_float(angle), sin_at + 4 * i, cos_at + 4 * i)
    sha = lambda a: hashlib.sha256(a.tobytes()).hexdigest()  # noqa: E731
    return {
        "library": " ".join(platform.libc_ver()),
        "logf_of_max_unit_1e-7": sha(logs),
        "sincosf_of_2pi_unit": {"sin": sha(sines), "cos": sha(cosines)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--intra-op-threads", type=int, default=0)
    parser.add_argument("--no-libm", action="store_true", help="skip the slow libm digests")
    args = parser.parse_args()
    if args.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    w = Writer()
    key, counter = run("StatelessRandomGetKeyCounter", [tensor("int32", [1, 2])], {})
    STREAMS["seeded"] = (key.tolist(), counter.tolist())
    v2_cases(w)
    v1_cases(w)
    error_cases(w)
    data = {
        "meta": {
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        },
        "cases": w.cases,
        "errors": w.errors,
        "libm": None if args.no_libm else libm_digests(),
    }
    with open(args.out, "w") as f:
        json.dump(data, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"{len(w.cases)} cases, {len(w.errors)} errors -> {args.out}")


if __name__ == "__main__":
    main()
