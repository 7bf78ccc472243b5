"""The seed corpus: real request bytes, and a context id of the fuzzer's own put in them.

Seeds are JSON lines ``{"method": "/pkg.Service/Method", "hex": ...}`` (responses, which
some captures hold too, are skipped). By default they come from ``corpus/`` beside this
module (a TF 2.21 client against eager_async, ``capture.py``) and from
``tests/vectors/stock_client/`` (a TF 2.21 client against TF's own worker). RPCs a stock
TF client never sends (the 2018 protocol's RegisterFunction and SendTensor, WaitQueueDone,
CloseContext, health) get hand-built seeds (``handmade``).

>>> seeds = load()
>>> sorted({seed.rpc.name for seed in seeds}) == sorted(RPCS)
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import messages as m
from . import protowire as pw
from .schema import BY_PATH, RPCS, Rpc

HERE = Path(__file__).resolve().parent
DEFAULT_DIRS = (HERE / "corpus", HERE.parent / "vectors" / "stock_client")


@dataclass(frozen=True, slots=True)
class Seed:
    """One real request; ``origin`` is its file and line, ``index`` its position among
    the seeds of that file (so a case can replay what came before it)."""

    rpc: Rpc
    payload: bytes
    origin: str
    index: int


def load(dirs: list[Path] | tuple[Path, ...] = DEFAULT_DIRS) -> list[Seed]:
    """Every request of every ``*.jsonl`` file in ``dirs``, then the hand-built ones."""
    seeds: list[Seed] = []
    for directory in dirs:
        for path in sorted(Path(directory).glob("*.jsonl")):
            count = 0
            for number, line in enumerate(path.read_text().splitlines(), 1):
                record = json.loads(line)
                if record.get("direction", "request") != "request":
                    continue
                rpc = BY_PATH.get(record["method"])
                if rpc is None:
                    continue
                seeds.append(Seed(rpc, bytes.fromhex(record["hex"]), f"{path.name}:{number}",
                                  count))
                count += 1
    seeds.extend(Seed(RPCS[name], payload, "handmade", index)
                 for index, (name, payload) in enumerate(handmade()))
    return seeds


def handmade() -> list[tuple[str, bytes]]:
    """Seeds for what a TF 2.21 client does not send, built as the protos define them."""
    square = m.function("SquareFn", [("x", "T")], [("y", "T")],
                        [m.node("mul", "Mul", ["x", "x"], {"T": m.AttrValue(placeholder="T")})],
                        {"y": "mul:z:0"}, ["T"])
    send = m.SendTensorRequest(context_id=1, op_id=1, device_name=m.DEVICE)
    send.tensors.append(m.tensor(np.array([1.0, 2.0], np.float32)))
    send.tensors.append(m.tensor(np.array([b"a", b"bc"], dtype=object)))
    register = m.RegisterFunctionRequest(context_id=1)
    register.function_def.CopyFrom(square)
    run = m.RunComponentFunctionRequest(context_id=1)
    run.operation.CopyFrom(m.operation(-1, "AddV2", [m.tensor(np.float32(1)),
                                                     m.tensor(np.float32(2))]))
    create = m.CreateContextRequest(context_id=1, keep_alive_secs=600)
    create.server_def.job_name = "worker"
    create.server_def.protocol = "grpc"
    job = create.server_def.cluster.job.add(name="worker")
    job.tasks[0] = "localhost:1"
    update = m.UpdateContextRequest(context_id=1, context_view_id=1)
    update.server_def.CopyFrom(create.server_def)
    recv = m.RecvTensorRequest(step_id=1, rendezvous_key=(
        f"{m.DEVICE};0000000000000001;{m.CLIENT_DEVICE};edge_1;0:0"))
    wait = m.WaitQueueDoneRequest(context_id=1)
    wait.op_id.extend([1, 2])
    return [
        ("SendTensor", m.serialize(send)),
        ("RegisterFunction", m.serialize(register)),
        ("RunComponentFunction", m.serialize(run)),
        ("CreateContext", m.serialize(create)),
        ("UpdateContext", m.serialize(update)),
        ("RecvTensor", m.serialize(recv)),
        ("WaitQueueDone", m.serialize(wait)),
        ("WaitQueueDone", pw.field_fixed64(1, 1)),
        ("KeepAlive", pw.field_fixed64(1, 1)),
        ("CloseContext", pw.field_fixed64(1, 1) + pw.field_fixed64(2, 0)),
        ("GetStatus", b""),
        ("HealthCheck", b""),
        ("HealthCheck", pw.field_bytes(1, "tensorflow.eager.EagerService")),
    ]


def with_context(rpc: Rpc, payload: bytes, context_id: int) -> bytes:
    """``payload`` naming ``context_id`` instead of the context it named (the field put
    first if it had none); unchanged if it is not a well-formed message."""
    if not rpc.context_field:
        return payload
    try:
        fields = pw.parse(payload)
    except pw.WireError:
        return payload
    rest = [f for f in fields if f.number != rpc.context_field]
    if rpc.context_fixed64:
        own = pw.field_fixed64(rpc.context_field, context_id)
    else:
        signed = context_id - (1 << 64) if context_id >= 1 << 63 else context_id
        own = pw.field_varint(rpc.context_field, signed)
    return own + pw.serialize(rest)
