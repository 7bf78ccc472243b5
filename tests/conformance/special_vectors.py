"""Write TensorFlow 2.21's Erf, Erfc, Lgamma and Digamma outputs, as data, to
``tests/vectors/special_functions.json`` for ``tests/test_special.py``.

Run with the TF venv's Python; eager_async never imports TensorFlow::

    .venv-tf/bin/python tests/conformance/special_vectors.py \\
        tests/vectors/special_functions.json

The file is one JSON object:

- ``meta``: the TensorFlow, NumPy and Python versions.
- ``cases``: ``{op, dtype, inputs_hex, outputs_hex}``: for each op and each dtype TF has
  a CPU kernel for, the inputs and TF's outputs as raw little-endian bytes (so NaN, -0.0
  and infinities survive). The inputs are each dtype's special values (signed zeros,
  infinities, NaN, poles, the largest finite values, the smallest normal ones) and a
  fixed pseudo-random sample of each function's interesting range. No denormal inputs:
  TF flushes them to zero.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import ml_dtypes
import numpy as np
import tensorflow as tf
from tensorflow.python.ops import gen_math_ops

OPS = {
    "Erf": (gen_math_ops.erf, ("float16", "bfloat16", "float32", "float64")),
    "Erfc": (gen_math_ops.erfc, ("float16", "bfloat16", "float32", "float64")),
    "Lgamma": (gen_math_ops.lgamma, ("float16", "float32", "float64")),
    "Digamma": (gen_math_ops.digamma, ("float16", "float32", "float64")),
}
# Where each function's values change: (low, high) of a uniform sample, and a log-spaced
# sample of magnitudes up to the dtype's largest.
RANGES = {
    "Erf": [(-6.0, 6.0), (-1.0, 1.0)],
    "Erfc": [(-6.0, 6.0), (0.4, 27.5)],
    "Lgamma": [(-12.0, 12.0), (0.0, 3.0), (-200.0, 200.0)],
    "Digamma": [(-12.0, 12.0), (0.0, 3.0), (-200.0, 200.0)],
}
SAMPLE = 64
LOGSPACED = 32


def dtype(name: str) -> np.dtype:
    return np.dtype(ml_dtypes.bfloat16 if name == "bfloat16" else name)


def inputs(op: str, name: str, rng: np.random.Generator) -> np.ndarray:
    """Special values and a sample of ``op``'s range, in dtype ``name``, no denormals."""
    info = ml_dtypes.finfo(dtype(name))
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 1.5,
               -1.5, -2.5, -3.0, -10.0, float(info.max), -float(info.max),
               float(info.smallest_normal), -float(info.smallest_normal)]  # fmt: skip
    values = [np.array(special)]
    for low, high in RANGES[op]:
        values.append(rng.uniform(low, high, SAMPLE))
    with np.errstate(over="ignore"):  # geomspace's last power may round past the max
        magnitudes = np.geomspace(float(info.smallest_normal), float(info.max), LOGSPACED)
        values.append(np.concatenate([magnitudes, -magnitudes]))
        x = np.concatenate(values).astype(dtype(name))
    wide = x.astype(np.float64)
    return x[~((wide != 0) & (np.abs(wide) < float(info.smallest_normal)))]


def main(path: str) -> None:
    rng = np.random.default_rng(20260530)
    cases: list[dict[str, Any]] = []
    for op, (fn, names) in OPS.items():
        for name in names:
            x = inputs(op, name, rng)
            y = fn(tf.constant(x)).numpy()
            assert y.dtype == x.dtype and y.shape == x.shape, (op, name, y.dtype, y.shape)
            cases.append({"op": op, "dtype": name, "inputs_hex": x.tobytes().hex(),
                          "outputs_hex": y.tobytes().hex()})  # fmt: skip
    meta = {"tensorflow": tf.__version__, "numpy": np.__version__,
            "python": platform.python_version()}  # fmt: skip
    with open(path, "w") as out:
        json.dump({"meta": meta, "cases": cases}, out, separators=(",", ":"))
        out.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
