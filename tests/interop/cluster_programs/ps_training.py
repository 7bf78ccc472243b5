"""Parameter-server training: ``tf.distribute.experimental.ParameterServerStrategy`` and
``tf.distribute.coordinator.ClusterCoordinator`` driving two workers and one or two ps.

    .venv-tf/bin/python tests/interop/cluster_programs/ps_training.py \\
        --cluster '{"worker": ["H:P0", "H:P1"], "ps": ["H:P2"], "chief": ["H:PC"]}' \\
        [--out run.json] [--expect all-tf.json] [--kill-worker PID]

The client is the chief (``SimpleClusterResolver(spec, task_type="chief", task_id=0,
rpc_layer="grpc")``). A small Keras 3 model (Dense 8 -> 16 tanh -> 1, seeded
initializers) is built under ``strategy.scope()``, so its variables live on the ps: whole,
round-robin when the spec has two ps (Keras 3 layers cannot train the ShardedVariables a
``variable_partitioner`` makes: the tape asks them for ``.handle``). Each worker reads a
per-worker dataset (``coordinator.create_per_worker_dataset`` + ``iter``) that repeats one
fixed batch through a ``map``, and a custom training loop (``GradientTape``, Keras SGD) is
scheduled onto the workers with ``coordinator.schedule``.

Checks: the variables are on the ps; a batch read by a worker equals the local one, also
through ``strategy.distribute_datasets_from_function`` (a MultiDeviceIterator); the
first STEPS steps, each joined before the next (full-batch SGD, so the result does not
depend on which worker ran which step), give the same losses and final weights as the
identical training run locally without a strategy, and (``--expect``) as the all-TF run;
the loss decreases; THROUGHPUT more steps scheduled at once all complete
(``figure steps_per_s``); an evaluation scheduled on the workers matches a local one.
``--kill-worker PID`` SIGKILLs that worker while those steps run: the coordinator must
finish them on the other worker. ``--out`` writes the losses and weights as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from _cluster import Cluster, main, parse_args

STEPS = 12  # joined one by one: deterministic
THROUGHPUT = 60  # scheduled at once
KILL_AFTER = 4  # --kill-worker: once this step is done
LEARNING_RATE = 0.1
FEATURES, HIDDEN, BATCH = 8, 16, 64
RTOL, ATOL = 1e-4, 1e-5  # float32 training on two implementations


def options(parser: argparse.ArgumentParser) -> None:
    """This program's options besides ``--cluster``."""
    parser.add_argument("--out", type=Path, help="write losses and weights here as JSON")
    parser.add_argument("--expect", type=Path, help="the all-TF run's --out, to compare")
    parser.add_argument("--kill-worker", type=int, metavar="PID",
                        help="SIGKILL this worker process during the throughput phase")


def build_model() -> keras.Model:
    """Dense(16, tanh) -> Dense(1) with seeded initializers."""
    return keras.Sequential([
        keras.Input([FEATURES]),
        keras.layers.Dense(HIDDEN, activation="tanh",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=1),
                           bias_initializer=keras.initializers.RandomNormal(0.0, 0.1, seed=2)),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=3)),
    ])


def dataset_fn(_: Any = None) -> tf.data.Dataset:
    """One fixed batch, repeated; a map so the workers run a dataset function too."""
    x = tf.random.stateless_normal([BATCH, FEATURES], seed=[1, 2])
    y = tf.reduce_sum(tf.sin(x), axis=1, keepdims=True)
    return tf.data.Dataset.from_tensors((x, y)).repeat().map(lambda a, b: (a * 0.5, b))


def loss_fn(model: keras.Model, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Mean squared error."""
    return tf.reduce_mean(tf.square(model(x) - y))


def weights_of(model: keras.Model) -> list[np.ndarray]:
    """The model's trainable weights, read back here."""
    return [np.asarray(tf.convert_to_tensor(v.value).numpy())
            for v in model.trainable_variables]


def train_locally(initial: list[np.ndarray], steps: int) -> tuple[list[float], list[np.ndarray]]:
    """The same training with no strategy, on this process's CPU, from ``initial``."""
    model = build_model()
    model.set_weights(initial)
    optimizer = keras.optimizers.SGD(LEARNING_RATE)
    x, y = next(iter(dataset_fn()))

    @tf.function
    def step() -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(model, x, y)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    losses = [float(step().numpy()) for _ in range(steps)]
    return losses, weights_of(model)


def close(got: Any, want: Any) -> tuple[bool, str]:
    """Whether two lists of arrays agree within RTOL/ATOL, and the largest difference."""
    worst = 0.0
    for a, b in zip(got, want, strict=True):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape:
            return False, f"shape {a.shape} != {b.shape}"
        worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
        if not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            return False, f"max |diff| {worst:.3g} beyond rtol {RTOL:g}, atol {ATOL:g}"
    return True, f"max |diff| {worst:.2g}"


def run_training(cluster: Cluster, args: argparse.Namespace) -> None:
    """Everything: the strategy, the model, the phases, the checks."""
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster.spec), task_type="chief", task_id=0, rpc_layer="grpc")
    # Whole variables, round-robin over the ps: Keras 3 layers cannot train sharded ones
    # (a variable_partitioner gives ShardedVariables, and the tape asks them for .handle).
    strategy = tf.distribute.experimental.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    with strategy.scope():
        model = build_model()
        optimizer = keras.optimizers.SGD(LEARNING_RATE)
        optimizer.build(model.trainable_variables)

    placed = sorted({v.value.device for v in model.trainable_variables})
    ps_tasks = len(cluster.spec["ps"])
    cluster.check("variables_on_ps", all("/job:ps/" in name for name in placed)
                  and len(placed) == ps_tasks, ", ".join(placed))

    per_worker = coordinator.create_per_worker_dataset(dataset_fn)
    iterator = iter(per_worker)

    @tf.function
    def peek(iterator: Any) -> Any:
        x, y = next(iterator)
        return tf.reduce_sum(x, axis=0), tf.reduce_sum(y)

    def read_batch() -> tuple[bool, str]:
        got = coordinator.schedule(peek, args=(iterator,)).fetch()
        x, y = next(iter(dataset_fn()))
        want = (tf.reduce_sum(x, axis=0).numpy(), tf.reduce_sum(y).numpy())
        return close(list(got), list(want))

    cluster.attempt("per_worker_dataset_batch", read_batch)

    # The documented form: a per-worker function that distributes the dataset, read on
    # each worker through a MultiDeviceIterator (GeneratorDataset, RemoteCall, ...).
    distributed = coordinator.create_per_worker_dataset(
        lambda: strategy.distribute_datasets_from_function(dataset_fn))
    distributed_iterator = iter(distributed)

    def read_distributed_batch() -> tuple[bool, str]:
        got = [coordinator.schedule(peek, args=(distributed_iterator,)) for _ in range(4)]
        coordinator.join()
        x, y = next(iter(dataset_fn()))
        want = [tf.reduce_sum(x, axis=0).numpy(), tf.reduce_sum(y).numpy()]
        for value in got:
            ok, detail = close(list(value.fetch()), want)
            if not ok:
                return ok, detail
        return True, "4 batches"

    cluster.attempt("distributed_dataset_batches", read_distributed_batch)

    @tf.function
    def train_step(iterator: Any) -> Any:
        def replica(batch: Any) -> tf.Tensor:
            x, y = batch
            with tf.GradientTape() as tape:
                loss = loss_fn(model, x, y)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss
        return strategy.run(replica, args=(next(iterator),))

    initial = weights_of(model)
    losses: list[float] = []

    def joined_steps() -> tuple[bool, str]:
        for _ in range(STEPS):
            value = coordinator.schedule(train_step, args=(iterator,))
            coordinator.join()
            losses.append(float(value.fetch()))
        return True, f"losses {losses[0]:.4f} .. {losses[-1]:.4f}"

    if not cluster.attempt(f"{STEPS}_joined_steps", joined_steps):
        return
    trained = weights_of(model)
    local_losses, local_weights = train_locally(initial, STEPS)
    cluster.check("loss_decreases", losses[-1] < 0.7 * losses[0],
                  f"{losses[0]:.4f} -> {losses[-1]:.4f}")
    cluster.check("losses_match_local", *close(losses, local_losses))
    cluster.check("weights_match_local", *close(trained, local_weights))
    if args.out:
        args.out.write_text(json.dumps({"losses": losses,
                                        "weights": [w.tolist() for w in trained]}))
    if args.expect:
        if args.expect.exists():
            reference = json.loads(args.expect.read_text())
            cluster.check("losses_match_all_tf", *close(losses, reference["losses"]))
            cluster.check("weights_match_all_tf", *close(
                trained, [np.asarray(w) for w in reference["weights"]]))
        else:
            cluster.check("matches_all_tf", False, f"no all-TF record at {args.expect}")

    throughput(cluster, coordinator, train_step, iterator, losses[-1], args.kill_worker)

    @tf.function
    def evaluate(iterator: Any) -> Any:
        x, y = next(iterator)
        return strategy.run(lambda: loss_fn(model, x, y))

    def evaluation() -> tuple[bool, str]:
        got = float(coordinator.schedule(evaluate, args=(iterator,)).fetch())
        local = build_model()
        local.set_weights(weights_of(model))
        x, y = next(iter(dataset_fn()))
        want = float(loss_fn(local, x, y).numpy())
        ok, detail = close([got], [want])
        return ok, f"{got:.6f} vs local {want:.6f}; {detail}"

    cluster.attempt("evaluate_on_workers", evaluation)


def throughput(cluster: Cluster, coordinator: Any, train_step: Any, iterator: Any,
               before: float, kill: int | None) -> None:
    """THROUGHPUT steps scheduled at once, then joined; with ``kill``, that worker is
    SIGKILLed once step KILL_AFTER is done and the others must finish the rest."""
    def body() -> tuple[bool, str]:
        started = time.perf_counter()
        values = [coordinator.schedule(train_step, args=(iterator,))
                  for _ in range(THROUGHPUT)]
        if kill is not None:
            values[KILL_AFTER].fetch()  # the workers are busy: most steps are still to run
            os.kill(kill, signal.SIGKILL)
        coordinator.join()
        seconds = time.perf_counter() - started
        cluster.figure("steps_per_s", THROUGHPUT / seconds)
        losses = [float(value.fetch()) for value in values]
        after = losses[-1]
        return bool(np.all(np.isfinite(losses))) and after < before, (
            f"{THROUGHPUT} steps in {seconds:.1f} s; loss {before:.4f} -> {after:.4f}"
            + ("" if kill is None else f"; worker pid {kill} killed after step {KILL_AFTER}"))

    name = f"{THROUGHPUT}_scheduled_steps" + ("_worker_killed" if kill is not None else "")
    cluster.attempt(name, body)


if __name__ == "__main__":
    arguments = parse_args(extra=options)
    # The chief is not a task of ``experimental_connect_to_cluster``'s kind: the strategy
    # connects (and checks the spec) itself.
    main(lambda cluster: run_training(cluster, arguments), Cluster(arguments.cluster))
