"""Asynchronous execution and op errors on the worker.

    .venv-tf/bin/python tests/interop/programs/async_errors.py HOST:PORT

A 1000-op chain run with ``tf.config.experimental.set_synchronous_execution(False)`` and
inside ``tf.experimental.async_scope()``; ops that fail (check_numerics on NaN, a failing
assert, an out-of-range gather index, a bad reshape, a failing assert inside a
tf.function, a failure inside an async scope) must raise the same ``tf.errors`` class as
they do locally; and after every failure the session must go on computing right values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import tensorflow as tf
from _common import Session, main
from tensorflow.python.eager import context as eager_context  # async_scope's wait

CHAIN = 1000  # ops


@contextmanager
def asynchronous() -> Iterator[None]:
    """Asynchronous eager execution for the block; synchronous again afterwards."""
    tf.config.experimental.set_synchronous_execution(False)
    try:
        yield
    finally:
        tf.config.experimental.set_synchronous_execution(True)


def chain(x: tf.Tensor) -> tf.Tensor:
    """``CHAIN`` dependent ops (a multiply and an add each step)."""
    for _ in range(CHAIN // 2):
        x = x * 0.999 + 0.5
    return x


def chain_async_mode() -> object:
    """The chain with synchronous execution off, read back once at the end."""
    with asynchronous():
        y = chain(tf.constant([1.0, 2.0, 3.0]))
        value = y.numpy()
    return value


def chain_async_scope() -> object:
    """The chain inside tf.experimental.async_scope, with a variable updated each step."""
    v = tf.Variable(0.0)
    with tf.experimental.async_scope():
        x = tf.constant(1.0)
        for _ in range(CHAIN // 2):
            x = x * 1.001
            v.assign_add(x)
    return [x, v]


def still_works() -> object:
    """A small computation that must succeed after an error."""
    v = tf.Variable([1.0, 2.0])
    v.assign_add([0.5, 0.5])
    return [tf.reduce_sum(v * v), tf.matmul([[1.0, 2.0]], [[3.0], [4.0]]), tf.range(5) * 2]


def check_numerics_nan() -> object:
    """check_numerics on a NaN."""
    return tf.debugging.check_numerics(tf.constant([1.0, float("nan")]), "has a NaN")


def failing_assert() -> object:
    """tf.debugging.assert_equal that does not hold."""
    tf.debugging.assert_equal(tf.constant([1, 2]), tf.constant([1, 3]), message="unequal")
    return tf.constant(0)


def bad_gather() -> object:
    """An index past the end of the params (CPU gathers check their indices)."""
    return tf.gather(tf.constant([1.0, 2.0, 3.0]), tf.constant([0, 7]))


def bad_reshape() -> object:
    """A reshape whose size does not match."""
    return tf.reshape(tf.range(6), tf.constant([4, 2]))


def assert_in_function() -> object:
    """A tf.function whose tf.debugging.Assert fails at run time."""
    @tf.function
    def positive_sqrt(x: tf.Tensor) -> tf.Tensor:
        tf.debugging.Assert(tf.reduce_all(x >= 0), ["negative input", x])
        return tf.sqrt(x)

    return positive_sqrt(tf.constant([4.0, -1.0]))


def error_in_async_mode() -> object:
    """A failing op among good ones with synchronous execution off: the error shows at the
    next wait for pending ops; then the async error state is cleared.

    The wait is explicit because reading a remote value back instead makes TF's client
    answer CANCELLED (its receive is cancelled) rather than the op's own error."""
    with asynchronous():
        try:
            good = tf.constant([1.0, 2.0]) * 2.0
            tf.debugging.check_numerics(good / 0.0 * 0.0, "nan in async mode")
            eager_context.async_wait()
            return good
        finally:
            tf.experimental.async_clear_error()


def error_in_async_scope() -> object:
    """A failing gather inside tf.experimental.async_scope raises when the scope ends."""
    with tf.experimental.async_scope():
        x = tf.range(4)
        y = tf.gather(x, [9]) + 1
    return y


ERRORS: dict[str, Callable[[], object]] = {
    "check_numerics on NaN": check_numerics_nan,
    "assert_equal fails": failing_assert,
    "gather index out of range": bad_gather,
    "reshape to a wrong size": bad_reshape,
    "tf.debugging.Assert fails in a tf.function": assert_in_function,
    "check_numerics fails in async mode": error_in_async_mode,
    "gather fails inside async_scope": error_in_async_scope,
}


def run(session: Session) -> None:
    """Every check of this program."""
    session.compare(f"{CHAIN}-op chain, synchronous execution off", chain_async_mode,
                    rtol=1e-5, atol=1e-4)
    session.compare(f"{CHAIN}-op chain in async_scope, a variable updated", chain_async_scope,
                    rtol=1e-5, atol=1e-4)
    for name, case in ERRORS.items():
        session.raises(f"error: {name}", case)
        session.compare(f"session works after: {name}", still_works)
    session.compare(f"{CHAIN}-op chain after the errors", chain_async_mode, rtol=1e-5,
                    atol=1e-4)


if __name__ == "__main__":
    main(run)
