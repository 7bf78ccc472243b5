"""tf.data pipelines built under the worker's device scope and iterated from the client.

    .venv-tf/bin/python tests/interop/programs/data_pipeline.py HOST:PORT

Each case builds a dataset (its ops and functions go to the device of the scope), then
iterates it with a Python ``for`` and returns every element.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from _common import Session, main
from tensorflow.data import Dataset


def elements(dataset: Dataset) -> list[object]:
    """Every element, in order. A plain loop: ``list(dataset)`` would first ask for
    ``len()``, whose DatasetCardinality op TF's client runs on the local CPU even for a
    dataset on the worker (which fails)."""
    return [element for element in dataset]


def slices_batch() -> object:
    """from_tensor_slices of a dict of features and labels, map, batch."""
    features = {"x": np.arange(20, dtype=np.float32).reshape(10, 2),
                "id": np.arange(10, dtype=np.int64)}
    labels = np.arange(10, dtype=np.int32) % 3
    dataset = Dataset.from_tensor_slices((features, labels))
    dataset = dataset.map(lambda f, y: ({"x": f["x"] * 2.0, "id": f["id"]}, y + 1))
    return elements(dataset.batch(4))


def range_map_filter() -> object:
    """range, map (parallel, deterministic), filter, enumerate."""
    dataset = Dataset.range(30).map(lambda i: i * i, num_parallel_calls=2, deterministic=True)
    return elements(dataset.filter(lambda v: v % 3 == 1).enumerate())


def flat_map_concatenate() -> object:
    """flat_map into variable-length ranges, concatenate with another dataset."""
    nested = Dataset.range(1, 5).flat_map(lambda n: Dataset.range(n).map(lambda i: i * 10 + n))
    return elements(nested.concatenate(Dataset.from_tensor_slices(
        tf.constant([-1, -2], tf.int64))))


def repeat_take_skip() -> object:
    """repeat, skip, take, and repeat of a take."""
    dataset = Dataset.range(5).repeat(3).skip(4).take(9)
    return elements(dataset) + elements(Dataset.range(10).take(2).repeat(2))


def zip_datasets() -> object:
    """zip of three datasets of different dtypes and lengths (the shortest wins)."""
    numbers = Dataset.range(6)
    floats = Dataset.from_tensor_slices(tf.linspace(0.0, 1.0, 5))
    pairs = Dataset.from_tensor_slices(tf.reshape(tf.range(16), [8, 2]))
    return elements(Dataset.zip((numbers, floats, pairs)))


def shuffle_seeded() -> object:
    """shuffle with a seed (no reshuffle), batch(drop_remainder), two epochs."""
    dataset = Dataset.range(40).shuffle(16, seed=42, reshuffle_each_iteration=False)
    dataset = dataset.batch(6, drop_remainder=True)
    return elements(dataset) + elements(dataset)


def padded_batches() -> object:
    """padded_batch of variable-length rows, with a padding value."""
    rows = Dataset.range(1, 7).map(lambda n: tf.fill([n], tf.cast(n, tf.int32)))
    return elements(rows.padded_batch(3, padded_shapes=[8], padding_values=-1)) + elements(
        rows.padded_batch(4))


def prefetch_cache() -> object:
    """cache (in memory) iterated twice, then prefetch (AUTOTUNE and a fixed size)."""
    dataset = Dataset.range(12).map(lambda i: tf.cast(i, tf.float32) / 4.0).cache()
    first = elements(dataset.prefetch(tf.data.AUTOTUNE))
    second = elements(dataset.prefetch(2))
    return first + second


def interleave_unbatch() -> object:
    """interleave (cycle 2, block 2), unbatch, window -> flat_map."""
    interleaved = Dataset.range(3).interleave(
        lambda i: Dataset.range(4).map(lambda j: i * 100 + j), cycle_length=2, block_length=2)
    unbatched = Dataset.from_tensor_slices(tf.reshape(tf.range(12), [3, 4])).unbatch()
    windows = Dataset.range(7).window(3, shift=2, drop_remainder=True).flat_map(
        lambda w: w.batch(3))
    return [elements(interleaved), elements(unbatched), elements(windows)]


def reduce_and_scan() -> object:
    """Dataset.reduce and Dataset.scan (a running state)."""
    total = Dataset.range(10).reduce(tf.constant(0, tf.int64), lambda acc, v: acc + v)
    running = Dataset.range(6).scan(tf.constant(1, tf.int64),
                                    lambda state, v: (state * 2, state + v))
    return [total, elements(running)]


def built_here_iterated_outside() -> object:
    """Built under the device scope, iterated with the scope cleared (the iterator
    follows the dataset's device)."""
    dataset = Dataset.range(8).map(lambda i: i * 3).batch(3)
    with tf.device(None):
        return elements(dataset)


def in_tf_function() -> object:
    """A dataset iterated inside a tf.function (the loop becomes graph ops)."""
    @tf.function
    def total(dataset: Dataset) -> tf.Tensor:
        acc = tf.constant(0.0)
        for batch in dataset:
            acc += tf.reduce_sum(batch)
        return acc

    return total(Dataset.range(10).map(lambda i: tf.cast(i, tf.float32)).batch(4))


CASES: dict[str, Callable[[], object]] = {
    "from_tensor_slices(dict), map, batch": slices_batch,
    "range, map(parallel), filter, enumerate": range_map_filter,
    "flat_map, concatenate": flat_map_concatenate,
    "repeat, skip, take": repeat_take_skip,
    "zip": zip_datasets,
    "shuffle(seed), batch(drop_remainder), 2 epochs": shuffle_seeded,
    "padded_batch": padded_batches,
    "cache, prefetch": prefetch_cache,
    "interleave, unbatch, window": interleave_unbatch,
    "reduce, scan": reduce_and_scan,
    "built under the scope, iterated outside": built_here_iterated_outside,
    "iterated inside a tf.function": in_tf_function,
}


def run(session: Session) -> None:
    """Every check of this program."""
    for name, case in CASES.items():
        session.compare(name, case)


if __name__ == "__main__":
    main(run)
