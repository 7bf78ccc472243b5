"""Writes the checkpoints of this directory with TensorFlow 2.21 (run with .venv-tf):

    .venv-tf/bin/python tests/vectors/checkpoint/make.py

- ``module-1.*``: ``tf.train.Checkpoint.save`` of a tf.Module with a variable of each
  dtype eager_async has (the way a client saves: sharded to a ``_temp`` directory, then
  merged; the ``checkpoint`` state file it writes beside them is not kept).
- ``sliced.*``: ``tf.raw_ops.SaveV2`` of tensors saved in parts, as partitioned
  variables are: a 4x2 one as rows 0-1 and 2-3, a 300x1 one as rows 0-99 and 100-299
  (numbers past 63 take more than a byte in a part's key), and a whole one.
- ``expected.json``: every tensor in them, as ``tf.train.load_checkpoint`` reads it:
  dtype, shape, and the value as hex (raw little-endian elements; strings one by one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

HERE = Path(__file__).resolve().parent


def module() -> tf.Module:
    values = {
        "f32": tf.constant([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], tf.float32),
        "f64": tf.constant([np.pi, -np.e], tf.float64),
        "f16": tf.constant([1.0, -0.5, 65504.0], tf.float16),
        "bf16": tf.constant([1.0, -3.0, 0.125], tf.bfloat16),
        "i8": tf.constant([-128, 127], tf.int8),
        "i16": tf.constant([-300, 300], tf.int16),
        "i32": tf.constant(42, tf.int32),
        "i64": tf.constant([2**40, -1, 0], tf.int64),
        "u8": tf.constant([0, 255], tf.uint8),
        "u16": tf.constant([65535], tf.uint16),
        "u32": tf.constant([2**32 - 1], tf.uint32),
        "u64": tf.constant([2**64 - 1], tf.uint64),
        "flags": tf.constant([True, False, True]),
        "c64": tf.constant([1 + 2j, -3j], tf.complex64),
        "c128": tf.constant([0.5 - 0.25j], tf.complex128),
        "text": tf.constant([b"abc", b"", b"\x00\xffbytes"]),
        "empty": tf.zeros([0, 3], tf.float32),
    }
    holder = tf.Module()
    for name, value in values.items():
        setattr(holder, name, tf.Variable(value))
    return holder


def describe(prefix: Path) -> dict[str, object]:
    reader = tf.train.load_checkpoint(str(prefix))
    tensors = {}
    for name, dtype in sorted(reader.get_variable_to_dtype_map().items()):
        value = np.asarray(reader.get_tensor(name))
        if dtype == tf.string:
            data: object = [bytes(x).hex() for x in np.asarray(value, dtype=object).flat]
        else:
            data = value.astype(value.dtype.newbyteorder("<")).tobytes().hex()
        tensors[name] = {"dtype": dtype.name, "shape": list(value.shape), "value": data}
    return tensors


def main() -> None:
    for old in HERE.iterdir():
        if old.name not in ("make.py", "README.md"):
            old.unlink()
    tf.train.Checkpoint(module=module()).save(str(HERE / "module"))
    (HERE / "checkpoint").unlink()
    tf.raw_ops.SaveV2(
        prefix=str(HERE / "sliced"),
        tensor_names=["parts", "parts", "long", "long", "whole"],
        shape_and_slices=["4 2 0,2:-", "4 2 2,2:-", "300 1 0,100:-", "300 1 100,200:-", ""],
        tensors=[tf.constant([[1, 2], [3, 4]], tf.int32), tf.constant([[5, 6], [7, 8]], tf.int32),
                 tf.reshape(tf.range(100, dtype=tf.int64), [100, 1]),
                 tf.reshape(tf.range(100, 300, dtype=tf.int64), [200, 1]),
                 tf.constant([9, 10], tf.int32)],
    )
    expected = {"module-1": describe(HERE / "module-1"), "sliced": describe(HERE / "sliced")}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
