"""Splitting a function across tasks (``eager_async.partition``): where nodes go and
which edges become _Send/_Recv pairs, without a network."""

from __future__ import annotations

import numpy as np
import pytest

from eager_async._proto import tensorflow as tf
from eager_async.attrs import encode_attr
from eager_async.cluster import ClusterView
from eager_async.errors import UnimplementedError
from eager_async.partition import partition
from eager_async.wire import decode_function

WORKER = "/job:worker/replica:0/task:0/device:CPU:0"
PS0 = "/job:ps/replica:0/task:0/device:CPU:0"
PS1 = "/job:ps/replica:0/task:1/device:CPU:0"
CLUSTER = ClusterView.from_jobs(
    {"worker": {0: "w:1"}, "ps": {0: "p:1", 1: "p:2"}}, local=("worker", 0))
F32 = np.dtype(np.float32)
RESOURCE = 20


def node(name: str, op: str, inputs: list[str], **attrs: object) -> tf.NodeDef:
    return tf.NodeDef(name=name, op=op, input=inputs,
                      attr={k: encode_attr(v) for k, v in attrs.items()})


def split(nodes: list[tf.NodeDef], inputs: list[tuple[str, int]], devices: list[str],
          ret: dict[str, str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Op names per part, and node names per part (the worker's part under WORKER)."""
    spec = decode_function(tf.FunctionDef(
        signature=tf.OpDef(name="Step",
                           input_arg=[tf.OpDefArgDef(name=n, type=t) for n, t in inputs],
                           output_arg=[tf.OpDefArgDef(name=k, type=1) for k in ret]),
        node_def=nodes, ret=ret))
    parts = partition(spec, devices, cluster=CLUSTER, local=WORKER, incarnation=lambda d: 7,
                      call_attrs={}, library=lambda name: None)
    ops = {WORKER: sorted(n.op for n in parts.local.nodes)}
    names = {WORKER: sorted(n.name for n in parts.local.nodes)}
    for part in parts.remote:
        ops[part.device] = sorted(n.op for n in part.function.node_def)
        names[part.device] = sorted(n.name for n in part.function.node_def)
    return ops, names


def test_resource_ops_go_to_the_resource_and_constants_to_their_consumers() -> None:
    ops, names = split([
        node("read", "ReadVariableOp", ["v"], dtype=F32),
        node("sum", "AddV2", ["read:value:0", "x"], T=F32),
        node("k", "Const", [], dtype=F32, value=np.float32(2)),
        node("down", "AssignSubVariableOp", ["v", "k:output:0"], dtype=F32),
        node("up", "AssignAddVariableOp", ["v", "k:output:0", "^down"], dtype=F32),
        node("out", "Identity", ["sum:z:0", "^down", "^up"], T=F32),
    ], [("v", RESOURCE), ("x", 1)], [PS0, WORKER], {"y": "out:output:0"})
    # The read and both updates run beside the variable, with the constant they use;
    # the worker receives the value read, and one trigger for its two control inputs.
    assert ops[PS0] == ["AssignAddVariableOp", "AssignSubVariableOp", "Const", "Const",
                        "ReadVariableOp", "_Send", "_Send"]
    assert "k" in names[PS0]
    assert ops[WORKER] == ["AddV2", "Identity", "_Recv", "_Recv"]


def test_a_node_that_names_a_device_runs_there() -> None:
    ops, _ = split([
        node("twice", "AddV2", ["x", "x"], T=F32),
        tf.NodeDef(name="far", op="Neg", input=["twice:z:0"], device="/job:ps/task:1",
                   attr={"T": encode_attr(F32)}),
    ], [("x", 1)], [WORKER], {"y": "far:y:0"})
    assert ops == {WORKER: ["AddV2", "_Recv", "_Send"], PS1: ["Neg", "_Recv", "_Send"]}


def test_a_node_with_resources_on_two_tasks_is_refused() -> None:
    with pytest.raises(UnimplementedError, match="takes resources on several tasks"):
        split([node("both", "ResourceApplyGradientDescent", ["v", "w", "w"], T=F32)],
              [("v", RESOURCE), ("w", RESOURCE)], [PS0, PS1], {})
