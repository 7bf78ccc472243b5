"""Keras 3 models trained with ``fit`` on the worker, compared with the same training done
locally.

    .venv-tf/bin/python tests/interop/programs/keras_fit.py HOST:PORT

Sequential and functional models (Dense, Conv2D, MaxPooling2D, Dropout,
BatchNormalization, Embedding), fed in-memory NumPy arrays or a shuffled, batched
``tf.data.Dataset``, trained for two epochs and then used to ``predict``: (a) everything
under the device scope, (b) built under the device scope but fit and predicted outside
it. Every case first calls ``tf.keras.utils.set_random_seed``, so weights, dropout masks
and shuffles are the same on both sides; the final weights, the loss history and the
predictions are compared (float32, rtol 1e-4, atol 1e-5; the max |diff| is printed).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from _common import Session, main

RTOL, ATOL = 1e-4, 1e-5
SEED = 20260


def data(shape: tuple[int, ...], classes: int, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``n`` fixed examples of ``shape`` with integer labels below ``classes``."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    return x, (np.arange(n) * 7 % classes).astype(np.int32)


def dense_model() -> keras.Model:
    """Sequential: Dense, BatchNormalization, Dropout, Dense."""
    return keras.Sequential([
        keras.Input((10,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.25, seed=3),
        keras.layers.Dense(16, activation="tanh"),
        keras.layers.Dense(4),
    ])


def conv_model() -> keras.Model:
    """Functional: Conv2D, MaxPooling2D, Conv2D, Flatten, Dropout, Dense."""
    inputs = keras.Input((10, 10, 2))
    h = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.Conv2D(8, 3, strides=2, activation="sigmoid")(h)
    h = keras.layers.Flatten()(keras.layers.Dropout(0.2, seed=5)(h))
    outputs = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inputs, outputs)


def embedding_model() -> keras.Model:
    """Functional with two inputs: Embedding and pooled tokens, concatenated with dense
    features."""
    tokens = keras.Input((6,), dtype="int32")
    features = keras.Input((3,))
    embedded = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 5)(tokens))
    h = keras.layers.Concatenate()([embedded, features])
    h = keras.layers.BatchNormalization()(keras.layers.Dense(8, activation="relu")(h))
    return keras.Model([tokens, features], keras.layers.Dense(1, activation="sigmoid")(h))


def outcome(model: keras.Model, history: keras.callbacks.History, predicted: Any) -> object:
    """What a case compares: every weight, the loss per epoch, the predictions."""
    return {"weights": model.get_weights(),
            "loss": np.asarray(history.history["loss"], np.float32),
            "predict": np.asarray(predicted)}


def dense_numpy() -> object:
    """Sequential on NumPy arrays, SGD with momentum, shuffled by fit."""
    keras.utils.set_random_seed(SEED)
    x, y = data((10,), 4)
    model = dense_model()
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return outcome(model, history, model.predict(x[:8], verbose=0))


def conv_dataset() -> object:
    """Functional CNN on a tf.data.Dataset (from_tensor_slices, shuffle(seed), batch),
    Adam."""
    keras.utils.set_random_seed(SEED)
    x, y = data((10, 10, 2), 3, 48)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(48, seed=11).batch(12)
    model = conv_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(dataset, epochs=2, verbose=0)
    return outcome(model, history, model.predict(tf.data.Dataset.from_tensor_slices(
        x[:6]).batch(3), verbose=0))


def embedding_numpy() -> object:
    """Two-input functional model with an Embedding, RMSprop, binary cross-entropy, a
    validation split."""
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, 20, (64, 6)).astype(np.int32)
    features = rng.standard_normal((64, 3)).astype(np.float32)
    labels = (tokens.sum(axis=1) % 2).astype(np.float32)
    model = embedding_model()
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="binary_crossentropy")
    history = model.fit([tokens, features], labels, epochs=2, batch_size=16,
                        validation_split=0.25, verbose=0)
    result = outcome(model, history, model.predict([tokens[:5], features[:5]], verbose=0))
    assert isinstance(result, dict)
    result["val_loss"] = np.asarray(history.history["val_loss"], np.float32)
    return result


def built_here_fit_outside() -> object:
    """(b): the model and its optimizer are built under the harness's device scope; fit
    and predict run with that scope cleared (TF then places ops next to the variables)."""
    keras.utils.set_random_seed(SEED)
    x, y = data((10,), 4)
    model = dense_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.build((None, 10))
    model.optimizer.build(model.trainable_variables)
    with tf.device(None):  # outside any device scope
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        predicted = model.predict(x[:8], verbose=0)
    return outcome(model, history, predicted)


def run(session: Session) -> None:
    """Every check of this program."""
    session.compare("(a) Sequential Dense/BN/Dropout, NumPy data, SGD", dense_numpy,
                    rtol=RTOL, atol=ATOL)
    session.compare("(a) functional CNN, tf.data shuffle(seed).batch, Adam", conv_dataset,
                    rtol=RTOL, atol=ATOL)
    session.compare("(a) functional Embedding, two inputs, validation_split",
                    embedding_numpy, rtol=RTOL, atol=ATOL)
    session.compare("(b) built under the worker scope, fit outside it",
                    built_here_fit_outside, rtol=RTOL, atol=ATOL)


if __name__ == "__main__":
    main(run)
