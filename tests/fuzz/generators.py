"""The generated classes of fuzz cases: random bytes, mutations of real requests, and
every registered op with random small inputs and random or hostile attrs. (The fixed
list of hostile requests is ``hostile.py``.)

A case is a name and a body that runs against a ``Session``: it makes its own context,
sends its requests (every one judged by the oracle as it returns) and leaves the closing
of its contexts to the session.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eager_async.kernels import registered_ops
from eager_async.kernels.op_defs import MISSING, AttrDef, op_def

from . import messages as m
from . import protowire as pw
from .corpus import Seed, with_context
from .harness import Session
from .mutate import Mutator, mutate
from .schema import RPCS, fields, legal_wires, submessage


@dataclass(frozen=True, slots=True)
class Case:
    """One fuzz case: its class (random, mutation, hostile, op), a name that says what
    it sends, and the body that sends it."""

    klass: str
    name: str
    body: Callable[[Session], None]


# --- (a) random bytes -----------------------------------------------------------------

def _random_bytes(rng: random.Random) -> bytes:
    size = rng.choice([0, 1, 2, 3, 5, 8, 16, 40, 100, 1000, rng.randint(0, 5000)])
    return bytes(rng.getrandbits(8) for _ in range(size))


def random_case(rng: random.Random, index: int) -> Case:
    """Random bytes to a random RPC; half of them after a valid context-id field, so they
    get past the context lookup."""
    rpc = rng.choice(list(RPCS.values()))
    prefix = rng.random() < 0.5
    count = rng.randint(1, 3) if rpc.streaming else 1
    bodies = [_random_bytes(rng) for _ in range(count)]
    is_async = rng.random() < 0.5

    def body(session: Session) -> None:
        context = session.new_context(is_async=is_async)
        payloads = [with_context(rpc, b"", context) + data if prefix else data
                    for data in bodies]
        session.call(rpc.name, payloads if rpc.streaming else payloads[0])

    return Case("random", f"random#{index} {rpc.name}", body)


# --- (b) mutations of real requests -----------------------------------------------------

class MutationSource:
    """Mutated seeds, each sent in a fresh context after up to three of the requests that
    came before it in its capture (so its handles and functions may exist)."""

    def __init__(self, seeds: Sequence[Seed], external: Mutator | None = None) -> None:
        self.seeds = list(seeds)
        self.external = external
        self.by_rpc: dict[str, list[bytes]] = {}
        self.by_origin: dict[str, list[Seed]] = {}
        for seed in self.seeds:
            self.by_rpc.setdefault(seed.rpc.request or "", []).append(seed.payload)
            if seed.rpc.name in ("Enqueue", "StreamingEnqueue"):
                self.by_origin.setdefault(seed.origin.partition(":")[0], []).append(seed)

    def case(self, rng: random.Random, index: int) -> Case:
        seed = rng.choice(self.seeds)
        rpc = seed.rpc
        others = self.by_rpc.get(rpc.request or "", [])
        file = seed.origin.partition(":")[0]
        before = [s for s in self.by_origin.get(file, []) if s.index < seed.index][-3:]
        is_async = rng.random() < 0.4
        recontext = rng.random() < 0.8
        mutant_rng = random.Random(rng.getrandbits(64))
        stream_it = rpc.name == "Enqueue" and rng.random() < 0.2

        def body(session: Session) -> None:
            context = session.new_context(is_async=is_async)
            for prior in before:
                session.call("Enqueue", with_context(prior.rpc, prior.payload, context))
            payload = with_context(rpc, seed.payload, context)
            mutated = mutate(mutant_rng, rpc.request, payload, others, self.external)
            if recontext:
                mutated = with_context(rpc, mutated, context)
            name = "StreamingEnqueue" if stream_it else rpc.name
            session.call(name, mutated)

        return Case("mutation", f"mutation#{index} of {rpc.name} {seed.origin}", body)


# --- (d) every registered op ------------------------------------------------------------

FLOATS = [np.dtype(t) for t in ("float32", "float64", "float16")]
COMMON = [np.dtype(t) for t in ("float32", "float64", "int32", "int64", "bool")] + [
    np.dtype(object)]
OBJECT = np.dtype(object)
WAITS_BY_DESIGN = {"_Recv", "_HostRecv"}  # wait for a _Send that may never come, as in TF
# Loops whose random condition (FuzzTrue) may hold forever, by design: ended by closing.
MAY_LOOP = {"While", "StatelessWhile"}


def _value(rng: random.Random, dtype: np.dtype, dims: tuple[int, ...]) -> np.ndarray:
    count = int(np.prod(dims)) if dims else 1
    if dtype == OBJECT:
        words = [b"", b"a", b"hello", b"\xff\xfe", "héllo".encode(), b"1.5", b"x" * 40]
        return np.array([rng.choice(words) for _ in range(count)], dtype=object).reshape(dims)
    kind = dtype.kind
    style = rng.random()
    if kind == "b":
        flat = np.array([rng.random() < 0.5 for _ in range(count)])
    elif kind in "iu":
        info = np.iinfo(dtype)
        if style < 0.1:
            pool = [info.min, info.max, 0, -1 if kind == "i" else 1]
            flat = np.array([rng.choice(pool) for _ in range(count)], dtype=dtype)
        else:
            low = -3 if kind == "i" else 0
            flat = np.array([rng.randint(low, 5) for _ in range(count)]).astype(dtype)
    elif kind == "c":
        flat = (np.array([rng.gauss(0, 2) for _ in range(count)])
                + 1j * np.array([rng.gauss(0, 2) for _ in range(count)])).astype(dtype)
    else:
        if style < 0.1:
            pool = [0.0, -0.0, float("nan"), float("inf"), -float("inf"), 1e30, -1.0]
            flat = np.array([rng.choice(pool) for _ in range(count)])
        else:
            flat = np.array([round(rng.gauss(0, 2), 2) for _ in range(count)])
        with np.errstate(over="ignore", invalid="ignore"):
            flat = flat.astype(dtype)
    return flat.reshape(dims)


def _dims(rng: random.Random) -> tuple[int, ...]:
    rank = rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4])
    return tuple(rng.choice([0, 1, 1, 2, 2, 3, 4]) for _ in range(rank))


def _pick_types(rng: random.Random, name: str, hostile: bool) -> dict[str, np.dtype]:
    definition = op_def(name)
    assert definition is not None
    kernels = [k for k in definition.cpu_kernels if k] or [{}]
    kernel = rng.choice(kernels)
    chosen: dict[str, np.dtype] = {}
    for attr_name, attr_def in definition.attrs.items():
        if attr_def.type != "type":
            continue
        pool = sorted(kernel.get(attr_name) or attr_def.allowed or COMMON, key=str)
        pool = [d for d in pool if d != OBJECT or attr_def.allowed is None
                or OBJECT in attr_def.allowed] or COMMON
        if hostile and rng.random() < 0.3:
            pool = COMMON
        chosen[attr_name] = rng.choice(pool)
    return chosen


_SMALL_INTS = [0, 1, 1, 2, 2, 3, -1, 4]
_HOSTILE_INTS = [-2**63, 2**63 - 1, 2**31, -2**31, 10**10, 10**9, -7]


def _attr_value(rng: random.Random, attr_def: AttrDef, hostile: bool) -> Any:
    kind = attr_def.type
    element = kind.removeprefix("list(").removesuffix(")")
    if attr_def.allowed and rng.random() < (0.5 if hostile else 0.9) and element != "type":
        choice = rng.choice(sorted(attr_def.allowed, key=repr))
        return [choice] if kind.startswith("list(") else choice
    if kind.startswith("list("):
        length = rng.choice([0, 1, 2, 3, 4, 4])
        if attr_def.minimum:
            length = max(length, attr_def.minimum)
        if hostile and rng.random() < 0.2:
            length = rng.choice([5, 64, 10000])
        return [_scalar(rng, element, attr_def, hostile) for _ in range(length)]
    return _scalar(rng, kind, attr_def, hostile)


def _scalar(rng: random.Random, kind: str, attr_def: AttrDef, hostile: bool) -> Any:
    if kind == "int":
        value = rng.choice(_HOSTILE_INTS if hostile and rng.random() < 0.3 else _SMALL_INTS)
        if attr_def.minimum is not None and not hostile:
            value = max(value, attr_def.minimum)
        return value
    if kind == "float":
        return rng.choice([0.0, 0.5, 1.0, -1.0, 1e-7, 2.0] + (
            [float("nan"), float("inf"), 1e30, -1e30] if hostile else []))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "string":
        return rng.choice([b"", b"SAME", b"VALID", b"NHWC", b"NCHW", b"x", b"\xff\xfe",
                           b"/job:worker/replica:0/task:0/device:CPU:0", b"%s %d", b"a" * 300])
    if kind == "type":
        return rng.choice(COMMON)
    if kind == "shape":
        if rng.random() < 0.15:
            return None
        return tuple(rng.choice([-1, 0, 1, 2, 3]) for _ in range(rng.choice([0, 1, 2, 3])))
    if kind == "tensor":
        return _value(rng, rng.choice(COMMON), _dims(rng))
    if kind == "func":
        return m.Func(rng.choice(["FuzzId", "FuzzTrue", "FuzzId", "NoSuchFunction", ""]),
                      {"T": np.dtype(np.float32)})
    return 0


def _attr_proto(value: Any) -> Any:
    """``messages.attr``, and None as a shape of unknown rank (alone or in a list)."""
    if value is None or (isinstance(value, list) and any(v is None for v in value)):
        proto = m.AttrValue()
        if value is None:
            proto.shape.unknown_rank = True
            return proto
        proto.list.SetInParent()
        for v in value:
            proto.list.shape.append(m.shape(v))
        return proto
    return m.attr(value)


def _wrong_kind(rng: random.Random) -> Any:
    return rng.choice([b"not-a-number", 7, 2.5, True, np.dtype(np.int32), (3,),
                       [1, 2], m.Func("FuzzId"), np.array([1.0], np.float32)])


FUNCTIONS_FOR_OPS = [
    m.function("FuzzId", [("x", "T")], [("y", "T")],
               [m.node("i", "Identity", ["x"], {"T": m.AttrValue(placeholder="T")})],
               {"y": "i:output:0"}, ["T"]),
    m.function("FuzzTrue", [("x", "T")], [("y", "DT_BOOL")],
               [m.node("t", "Const", [], {"dtype": np.dtype(np.bool_),
                                          "value": np.array(True)})],
               {"y": "t:output:0"}, ["T"]),
]


def _producer(rng: random.Random, type_name: str, op_id: int) -> list[Any]:
    """Queue items whose output (op_id, 0) is a resource or variant input."""
    if type_name == "resource":
        dtype = np.dtype(np.float32)
        value = _value(rng, dtype, _dims(rng))
        return [
            m.item_operation(m.operation(op_id, "VarHandleOp", [], {
                "dtype": dtype, "shape": value.shape, "shared_name": b"", "container": b""})),
            m.item_operation(m.operation(op_id + 1, "AssignVariableOp", [
                m.handle(op_id, dtype=m.DT_RESOURCE), m.tensor(value)], {"dtype": dtype})),
        ]
    choice = rng.randrange(3)
    if choice == 0:
        return [m.item_operation(m.operation(op_id, "RangeDataset", [
            m.tensor(np.int64(0)), m.tensor(np.int64(rng.randint(0, 6))),
            m.tensor(np.int64(1))], {"output_types": [np.dtype(np.int64)],
                                     "output_shapes": [()]}))]
    if choice == 1:
        return [m.item_operation(m.operation(op_id, "EmptyTensorList", [
            m.tensor(np.int32(-1)), m.tensor(np.int32(-1))],
            {"element_dtype": np.dtype(np.float32), "shape_type": np.dtype(np.int32)}))]
    return [m.item_operation(m.operation(op_id, "OptionalNone", []))]


def op_request(rng: random.Random, name: str, context: int, hostile: bool) -> bytes:
    """An Enqueue of op ``name`` (fetched inline, op id -1, where its outputs can be) with
    random small inputs and random attrs, after the items making its resource and variant
    inputs. ``hostile``: some attrs of the wrong kind or huge, one missing, an unknown one,
    or an input short."""
    definition = op_def(name)
    assert definition is not None
    types = _pick_types(rng, name, hostile)
    attrs: dict[str, Any] = {}
    items: list[Any] = [m.item_register(fn) for fn in FUNCTIONS_FOR_OPS]
    inputs: list[Any] = []
    next_id = 1
    base = _dims(rng)  # most inputs share a shape, so more calls reach the kernels
    numbers: dict[str, int] = {}
    type_lists: dict[str, list[np.dtype]] = {}
    for arg in definition.inputs:
        count = 1
        dtypes: list[np.dtype] = []
        if arg.number_attr:
            minimum = definition.attrs[arg.number_attr].minimum or 0
            count = numbers.setdefault(arg.number_attr, max(minimum, rng.randint(1, 3)))
        if arg.type_list_attr:
            dtypes = type_lists.setdefault(arg.type_list_attr, [
                rng.choice(COMMON[:5]) for _ in range(rng.randint(
                    max(1, definition.attrs[arg.type_list_attr].minimum or 0), 3))])
            count = len(dtypes)
        for position in range(count):
            if arg.type_name in ("resource", "variant"):
                produced = _producer(rng, arg.type_name, next_id)
                items.extend(produced)
                inputs.append(m.handle(next_id, dtype=m.DT_RESOURCE if arg.type_name
                                       == "resource" else m.DT_VARIANT))
                next_id += len(produced)
                continue
            if dtypes:
                dtype = dtypes[position]
            elif arg.type_attr:
                dtype = types.get(arg.type_attr, np.dtype(np.float32))
            else:
                dtype = arg.dtype if arg.dtype is not None else np.dtype(np.float32)
            value = _value(rng, dtype, base if rng.random() < 0.6 else _dims(rng))
            if rng.random() < 0.2:  # sent first, then used by handle
                items.append(m.item_send(next_id, m.tensor(value)))
                inputs.append(m.handle(next_id, dtype=m.dtype_enum(dtype)))
                next_id += 1
            else:
                inputs.append(m.tensor(value))
    for attr_name, attr_def in definition.attrs.items():
        if attr_name in types:
            if rng.random() < 0.9:
                attrs[attr_name] = types[attr_name]
        elif attr_name in numbers:
            if rng.random() < 0.9:
                attrs[attr_name] = numbers[attr_name]
        elif attr_name in type_lists:
            attrs[attr_name] = type_lists[attr_name]
        elif attr_def.default is not MISSING and rng.random() < 0.5:
            continue  # left to its default, as the stock client does
        else:
            attrs[attr_name] = _attr_value(rng, attr_def, hostile)
    if hostile and attrs:
        roll = rng.random()
        target = rng.choice(sorted(attrs))
        if roll < 0.4:
            attrs[target] = _wrong_kind(rng)
        elif roll < 0.6:
            del attrs[target]
        elif roll < 0.7:
            attrs["fuzz_unknown_attr"] = 1
        elif roll < 0.8:
            inputs = inputs[:-1] if inputs else [m.tensor(np.float32(1))]
    # Outputs come back inline (id -1), unless one is a resource or variant, which cannot.
    handles_out = any(arg.type_name in ("resource", "variant") for arg in definition.outputs)
    op = m.operation(next_id if handles_out else -1, name, inputs, {})
    for key, value in attrs.items():
        op.attrs[key].CopyFrom(_attr_proto(value))
    items.append(m.item_operation(op))
    return m.enqueue(context, *items)


def op_case(rng: random.Random, name: str, hostile: bool = False) -> Case:
    """Op ``name`` enqueued in a fresh sync context with random inputs and attrs. Ops that
    wait by design (a ``_Recv`` whose ``_Send`` never comes) are started, then their
    context is closed: the call must end (CANCELLED), not hang."""
    case_rng = random.Random(rng.getrandbits(64))

    def body(session: Session) -> None:
        context = session.new_context(is_async=False)
        payload = op_request(case_rng, name, context, hostile)
        if name in WAITS_BY_DESIGN:
            close_while_waiting(session, context, "Enqueue", payload)
        elif name in MAY_LOOP:
            close_while_waiting(session, context, "Enqueue", payload, settle=3.0)
        else:
            session.call("Enqueue", payload)

    return Case("op", f"op {name}{' (hostile attrs)' if hostile else ''}", body)


def close_while_waiting(session: Session, context: int, method: str,
                        payload: bytes | Sequence[bytes], settle: float = 0.3) -> None:
    """Start ``method`` (which may wait on ``context`` forever), close the context after
    ``settle`` seconds: the call must end within 10 s, with no INTERNAL/UNKNOWN."""
    pending = session.background(method, payload, timeout=30)
    try:
        done = pending.result(timeout=settle)
    except TimeoutError:
        done = None
    session.close_context(context)
    outcome = done or pending.result(timeout=40)
    shown = payload if isinstance(payload, bytes) else b"".join(payload)
    session.judge(outcome, shown)
    session.expect(done is not None or outcome.elapsed < settle + 10,
                   f"{method} waiting on a context must end once CloseContext closes it",
                   outcome, shown)


def all_ops() -> list[str]:
    return sorted(registered_ops())


def op_cases(rng: random.Random, names: Sequence[str], hostile_share: float = 0.3
             ) -> Iterator[Case]:
    for name in names:
        yield op_case(rng, name, hostile=rng.random() < hostile_share)


def wrong_wire_payloads(type_name: str, depth: int = 3) -> Iterator[tuple[str, bytes]]:
    """For every field of ``type_name`` and of the messages under it (``depth`` levels),
    that field alone with each wire type its schema forbids, wrapped in its parents; a
    description of each."""

    def walk(name: str, level: int, trail: tuple[int, ...], seen: frozenset[str]
             ) -> Iterator[tuple[str, tuple[int, ...], int, int]]:
        for number in sorted(fields(name)):
            for wire in (pw.VARINT, pw.I64, pw.LEN, pw.I32, pw.SGROUP):
                if wire not in legal_wires(name, number):
                    yield f"{name}.{fields(name)[number].name}", trail, number, wire
            sub = submessage(name, number)
            if sub and level < depth and sub not in seen:
                yield from walk(sub, level + 1, (*trail, number), seen | {sub})

    for label, trail, number, wire in walk(type_name, 0, (), frozenset({type_name})):
        data = pw.field_of_wire(number, wire, b"\x01")
        for parent in reversed(trail):
            data = pw.field_bytes(parent, data)
        yield f"{label} as wire type {wire}", data
