"""tf.Variable on the worker: create, assign, slice-assign, scatter, gather, read back.

    .venv-tf/bin/python tests/interop/programs/variables.py HOST:PORT

Each case creates its variables under the current device scope (the worker's, then the
local CPU's for the reference), updates them, and returns what it reads back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from _common import Session, main


def matrix(dtype: tf.DType = tf.float32) -> tf.Variable:
    """A 4x3 variable 0..11."""
    return tf.Variable(tf.reshape(tf.range(12, dtype=dtype), [4, 3]))


def create() -> object:
    """Variables of several dtypes and shapes, from Python values, NumPy and tensors."""
    return [
        tf.Variable(3.0),
        tf.Variable([1, 2, 3], dtype=tf.int64),
        tf.Variable(np.arange(6, dtype=np.float64).reshape(2, 3)),
        tf.Variable(tf.zeros([2, 2], tf.float16)),
        tf.Variable([True, False]),
        tf.Variable([b"a", b"bc"]),
        tf.Variable(tf.random.stateless_uniform([3], seed=[1, 2])),
    ]


def assign_family() -> object:
    """assign, assign_add, assign_sub, and the values they return."""
    v = tf.Variable([1.0, 2.0, 3.0])
    returned = v.assign([4.0, 5.0, 6.0])
    first = tf.identity(returned)
    v.assign_add([0.5, 0.5, 0.5])
    v.assign_sub(tf.constant([1.0, 2.0, 3.0]))
    n = tf.Variable(10, dtype=tf.int32)
    n.assign_add(5)
    n.assign_sub(3)
    return [first, v, n.read_value(), v + 1.0]


def slice_assign() -> object:
    """Strided-slice assignment through ``v[...].assign``."""
    v = tf.Variable([0.0, 1.0, 2.0, 3.0, 4.0])
    v[1:3].assign([10.0, 20.0])
    m = matrix()
    m[1:3, 0].assign([-1.0, -2.0])
    m[::2, 1:].assign(tf.fill([2, 2], 7.0))
    m[-1].assign([9.0, 9.0, 9.0])
    return [v, m]


def scatter_ops() -> object:
    """scatter_update / scatter_add / scatter_sub / scatter_nd_update / scatter_nd_add."""
    m = matrix()
    m.scatter_update(tf.IndexedSlices(tf.ones([2, 3]), tf.constant([0, 2])))
    m.scatter_add(tf.IndexedSlices(tf.fill([1, 3], 5.0), tf.constant([3])))
    m.scatter_sub(tf.IndexedSlices(tf.fill([1, 3], 1.0), tf.constant([1])))
    v = tf.Variable(tf.zeros([4], tf.int32))
    v.scatter_nd_update([[1], [3]], [7, 9])
    v.scatter_nd_add([[1], [0]], [1, 2])
    w = tf.Variable(tf.zeros([2, 2]))
    w.scatter_nd_update([[0, 1], [1, 0]], [1.5, -1.5])
    x = tf.Variable([1.0, 2.0, 3.0])
    x.scatter_max(tf.IndexedSlices(tf.constant([5.0, 0.0]), tf.constant([0, 1])))
    x.scatter_min(tf.IndexedSlices(tf.constant([-1.0]), tf.constant([2])))
    return [m, v, w, x]


def compat_scatter() -> object:
    """The tf.compat.v1 scatter functions (tf.compat.v1.scatter_update & co.)."""
    m = matrix(tf.int32)
    tf.compat.v1.scatter_update(m, [1], [[7, 7, 7]])
    tf.compat.v1.scatter_add(m, [0, 0], [[1, 1, 1], [2, 2, 2]])
    tf.compat.v1.scatter_nd_update(m, [[3, 2]], [100])
    tf.compat.v1.scatter_nd_add(m, [[0, 0]], [50])
    return m


def gather_ops() -> object:
    """Reading parts of a variable: gather, gather_nd, embedding_lookup, sparse reads."""
    m = matrix()
    return {
        "gather": tf.gather(m, [3, 0, 3]),
        "gather_axis1": tf.gather(m, [2, 0], axis=1),
        # TF's client cannot infer ResourceGatherNd's shape on a remote variable: read first.
        "gather_nd": tf.gather_nd(m.read_value(), [[0, 1], [3, 2]]),
        "embedding_lookup": tf.nn.embedding_lookup(m, tf.constant([[1, 2], [0, 0]])),
        "sparse_read": m.sparse_read([2, 1]),
        "slice": m[1:, :2],
    }


def variable_math() -> object:
    """Variables used directly as operands, and their attributes."""
    a = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    b = tf.Variable([[0.5], [-1.0]])
    return {
        "matmul": tf.matmul(a, b),
        "add": a + 1.0,
        "reduce": tf.reduce_sum(a * a),
        "shape": tf.shape(a),
        "dtype_cast": tf.cast(a, tf.int32),
        "convert": tf.convert_to_tensor(b),
        "numpy": a.numpy(),
    }


def many_updates() -> object:
    """A loop of 200 small updates on one variable (the usual training pattern)."""
    v = tf.Variable(tf.zeros([8]))
    step = tf.Variable(0, dtype=tf.int64)
    for i in range(200):
        v.assign_add(tf.fill([8], float(i % 7)))
        step.assign_add(1)
    return [v, step]


def lifecycle() -> object:
    """Variables created and dropped in a loop: the worker frees their resources."""
    total = tf.constant(0.0)
    for i in range(50):
        v = tf.Variable(tf.fill([16], float(i)))
        total += tf.reduce_sum(v)
        del v
    return total


def non_trainable() -> object:
    """``trainable=False``, ``name``, ``shape=tf.TensorShape(None)`` variables."""
    counter = tf.Variable(0, trainable=False, name="counter")
    counter.assign_add(2)
    anything = tf.Variable([1.0], shape=tf.TensorShape(None))
    anything.assign([1.0, 2.0, 3.0])
    return [counter, anything, tf.constant(anything.trainable)]


CASES: dict[str, Callable[[], object]] = {
    "create": create,
    "assign, assign_add, assign_sub": assign_family,
    "slice assign v[1:3].assign": slice_assign,
    "scatter_update/add/sub, scatter_nd_update/add, scatter_max/min": scatter_ops,
    "tf.compat.v1.scatter_*": compat_scatter,
    "gather, gather_nd, embedding_lookup, sparse_read": gather_ops,
    "variables as operands": variable_math,
    "200 assign_add": many_updates,
    "create and drop 50 variables": lifecycle,
    "non-trainable, unknown-shape variables": non_trainable,
}


def run(session: Session) -> None:
    """Every check of this program."""
    for name, case in CASES.items():
        session.compare(name, case)


if __name__ == "__main__":
    main(run)
