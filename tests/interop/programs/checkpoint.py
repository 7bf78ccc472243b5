"""Checkpoints of variables that live on the worker: tf.train.Checkpoint write/read and
save/restore, CheckpointManager, and restore into a fresh model.

    .venv-tf/bin/python tests/interop/programs/checkpoint.py HOST:PORT

Each case builds a small Keras model and an optimizer (slots set to distinct values)
under the current device scope, writes a checkpoint to a temporary directory
of this process, clobbers or recreates the variables, restores, and returns the values.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from _common import Session, main


def model_and_optimizer() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    """A fixed-initialised Dense model, called once, and an Adam optimizer whose slots
    are built and set to distinct values (no training: this program is about saving)."""
    model = keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(4, activation="relu",
                           kernel_initializer=keras.initializers.Constant(0.3)),
        keras.layers.Dense(2, kernel_initializer="ones"),
    ])
    model(tf.constant([[1.0, -2.0, 0.5]]))
    optimizer = keras.optimizers.Adam(0.1)
    optimizer.build(model.trainable_variables)
    for index, variable in enumerate(optimizer.variables):
        variable.assign(tf.cast(tf.fill(tf.shape(variable), index + 1), variable.dtype))
    return model, optimizer


def values(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> object:
    """Every model weight and optimizer variable, as arrays."""
    return {"model": model.get_weights(),
            "optimizer": [np.asarray(v.numpy()) for v in optimizer.variables]}


def clobber(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> None:
    """Overwrite every variable with zeros."""
    for variable in [*model.weights, *optimizer.variables]:
        variable.assign(tf.zeros_like(variable))


def write_read() -> object:
    """Checkpoint.write, clobber, Checkpoint.read(...).assert_consumed()."""
    model, optimizer = model_and_optimizer()
    step = tf.Variable(7, dtype=tf.int64)
    before = values(model, optimizer)
    with tempfile.TemporaryDirectory() as directory:
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
        path = checkpoint.write(str(Path(directory) / "ckpt"))
        clobber(model, optimizer)
        step.assign(0)
        zeroed = values(model, optimizer)
        checkpoint.read(path).assert_consumed()
    return {"before": before, "zeroed": zeroed, "restored": values(model, optimizer),
            "step": step}


def save_restore_manager() -> object:
    """CheckpointManager.save twice (max_to_keep=1), restore the latest into new
    variables (deferred restoration on first build)."""
    model, optimizer = model_and_optimizer()
    with tempfile.TemporaryDirectory() as directory:
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
        manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=1)
        manager.save()
        for variable in model.trainable_variables:
            variable.assign_add(tf.ones_like(variable))
        latest = manager.save()
        kept = len(manager.checkpoints)
        expected = values(model, optimizer)
        fresh_model, fresh_optimizer = model_and_optimizer()
        clobber(fresh_model, fresh_optimizer)
        status = tf.train.Checkpoint(model=fresh_model, optimizer=fresh_optimizer).restore(
            latest)
        status.assert_existing_objects_matched()
    return {"expected": expected, "restored": values(fresh_model, fresh_optimizer),
            "kept": np.asarray(kept)}


def plain_variables() -> object:
    """A tf.Module of variables of several dtypes, saved and restored with
    tf.train.Checkpoint.save/restore, and read back with tf.train.load_variable."""
    module = tf.Module()
    module.floats = tf.Variable(tf.reshape(tf.range(6, dtype=tf.float64), [2, 3]))
    module.ints = tf.Variable([1, 2, 3], dtype=tf.int64)
    module.flags = tf.Variable([True, False])
    module.text = tf.Variable([b"abc", b"de"])
    with tempfile.TemporaryDirectory() as directory:
        checkpoint = tf.train.Checkpoint(module=module)
        path = checkpoint.save(str(Path(directory) / "vars"))
        module.floats.assign(tf.zeros([2, 3], tf.float64))
        module.ints.assign([0, 0, 0])
        module.flags.assign([False, False])
        module.text.assign([b"", b""])
        checkpoint.restore(path).assert_consumed()
        stored = tf.train.load_variable(path, "module/ints/.ATTRIBUTES/VARIABLE_VALUE")
    return {"floats": module.floats, "ints": module.ints, "flags": module.flags,
            "text": module.text, "stored": stored}


def run(session: Session) -> None:
    """Every check of this program."""
    session.compare("Checkpoint.write / read of a model and Adam slots", write_read)
    session.compare("CheckpointManager save x2, restore into a fresh model",
                    save_restore_manager)
    session.compare("Checkpoint.save / restore of float64/int64/bool/string variables",
                    plain_variables)


if __name__ == "__main__":
    main(run)
