"""Records of what tf.distribute's per-worker datasets and tf.data's multi-device iterators
send a worker: GeneratorDataset, GetOptions, the MultiDeviceIterator ops and RemoteCall.

Expected values are TensorFlow 2.21's: the round-robin order, incarnation ids, string
handles and error messages come from the same calls against TF's worker
(``benchmarks/tf_worker.py``), the merged options from GetOptions there, and the
generator's order of init/next/finalize calls from ``_GeneratorDataset`` in TF. Below
the tables, behaviour over several calls, and the whole per-device pipeline TF's client
builds (GeneratorDataset whose functions RemoteCall the source device) read shard by
shard.
"""

from __future__ import annotations

import doctest
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from kernel_records import RENDEZVOUS, Bad, Case, i32, i64, s
from test_kernels_data import (
    I64,
    IDENTITY,
    OBJ,
    SCALAR,
    SQUARE,
    Elements,
    Holds,
    S,
    const,
    fn,
    ints,
    rng,
    v,
)

from eager_async._proto import tensorflow as tf
from eager_async.attrs import FuncAttr
from eager_async.errors import (
    EagerError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
)
from eager_async.functions import FunctionLibrary, FunctionSpec, NodeSpec
from eager_async.kernels.data import generator_ops, multi_device_iterator_ops, options_ops
from eager_async.kernels.data.datasets import variant
from eager_async.kernels.data.multi_device_iterator_ops import ANONYMOUS_NAME, TYPE_HASH, TYPE_NAME
from eager_async.kernels.data.options_ops import OptionsDataset
from eager_async.kernels.data.source_ops import RangeDataset
from eager_async.kernels.data.structure_ops import ZipDataset
from eager_async.op_env import OpEnv

CPU = "/job:worker/replica:0/task:0/device:CPU:0"
TWO = [CPU.encode(), CPU.encode()]
I32 = np.dtype(np.int32)
F32 = np.dtype(np.float32)


class Env:
    """An OpEnv whose kernel state lasts (the context's store, as the runtime keeps it),
    with ``functions`` registered; ``run`` runs one op in it."""

    def __init__(self, functions: Sequence[FunctionSpec] = (), context_id: int = 1) -> None:
        self.library = FunctionLibrary()
        for function in functions:
            self.library.add(function)
        self.env = OpEnv(context_id=context_id, step_id=context_id, rendezvous=RENDEZVOUS,
                         lookup=self.library.lookup, state={})

    def run(self, op: str, *inputs: Any, **attrs: Any) -> list[np.ndarray]:
        return self.library.lookup(op, self.env).run(list(inputs), attrs)

    def one(self, op: str, *inputs: Any, **attrs: Any) -> np.ndarray:
        (output,) = self.run(op, *inputs, **attrs)
        return output


ENV = Env()


def md(devices: Sequence[bytes] = TWO, env: Env = ENV) -> np.ndarray:
    """A new AnonymousMultiDeviceIteratorV3 handle of int64 scalars."""
    return env.one("AnonymousMultiDeviceIteratorV3", devices=list(devices), **SCALAR)


def initialized(dataset: np.ndarray, devices: Sequence[bytes] = TWO,
                env: Env = ENV) -> tuple[np.ndarray, int]:
    handle = md(devices, env)
    return handle, int(env.one("MultiDeviceIteratorInit", dataset, handle, i64(1)))


def shard(handle: np.ndarray, index: int, incarnation: int, env: Env = ENV,
          attrs: dict[str, Any] = SCALAR) -> Any:
    """Shard ``index``'s next element (its values), or "END" at OUT_OF_RANGE."""
    try:
        element = env.run("MultiDeviceIteratorGetNextFromShard", handle, i32(index),
                          i64(incarnation), **attrs)
    except OutOfRangeError as error:
        assert error.message == "End of sequence"
        return "END"
    return [x.tolist() for x in element]


class Is:
    """Equal to exactly ``expected`` (the same object)."""

    def __init__(self, expected: object) -> None:
        self.expected = expected

    def __eq__(self, other: object) -> bool:
        return other is self.expected

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Is({self.expected!r})"


class HandleOf:
    """Equal to the string handle of ``resource``: a ResourceHandleProto as TF's names it."""

    def __init__(self, resource: object) -> None:
        self.resource = resource

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, bytes):
            return NotImplemented
        proto = tf.ResourceHandleProto().parse(other)
        return (proto.device, proto.container, proto.name, proto.hash_code,
                proto.maybe_type_name) == (CPU, "Anonymous", self.resource.name,  # type: ignore[attr-defined]
                                           TYPE_HASH, TYPE_NAME)

    __hash__ = None  # type: ignore[assignment]


# --- GeneratorDataset's functions --------------------------------------------------------

I64_T = {"T": I64}
# Start(n) = an iterator over range(n); Step(it, k) = next(it) * k; Stop(it) = 0.
START = fn("Start", [("n", I64)], [("it", OBJ)],
           [const("zero", i64(0)), const("one", i64(1)),
            NodeSpec("r", "RangeDataset", ("zero:output:0", "n", "one:output:0"), SCALAR),
            NodeSpec("a", "AnonymousIteratorV3", (), SCALAR),
            NodeSpec("m", "MakeIterator", ("r:handle:0", "a:handle:0"), {})],
           {"it": "a:handle:0"})
STEP = fn("Step", [("it", OBJ), ("k", I64)], [("y", I64)],
          [NodeSpec("g", "IteratorGetNext", ("it",), SCALAR),
           NodeSpec("m", "Mul", ("g:components:0", "k"), I64_T)], {"y": "m:z:0"})
STOP = fn("Stop", [("it", OBJ)], [("z", I64)], [const("zero", i64(0))], {"z": "zero:output:0"})
# Counted versions: each call adds one to a captured variable.
COUNTED_START = fn("CountedStart", [("n", I64), ("calls", OBJ)], [("it", OBJ)],
                   [*START.nodes, const("c1", i64(1)),
                    NodeSpec("add", "AssignAddVariableOp", ("calls", "c1:output:0"),
                             {"dtype": I64})], {"it": "a:handle:0"})
COUNTED_STOP = fn("CountedStop", [("it", OBJ), ("calls", OBJ)], [("z", I64)],
                  [const("zero", i64(0)), const("one", i64(1)),
                   NodeSpec("add", "AssignAddVariableOp", ("calls", "one:output:0"),
                            {"dtype": I64})], {"z": "zero:output:0"})
# Fails(...) reads an empty optional: INVALID_ARGUMENT on every call.
FAILS = fn("Fails", [("it", OBJ)], [("y", I64)],
           [NodeSpec("o", "OptionalNone", (), {}),
            NodeSpec("g", "OptionalGetValue", ("o:optional:0",), SCALAR)],
           {"y": "g:components:0"})
FAILS_TO_START = fn("FailsToStart", [("n", I64)], [("it", OBJ)],
                    [NodeSpec("o", "OptionalNone", (), {}),
                     NodeSpec("g", "OptionalGetValue", ("o:optional:0",), S([OBJ], [()]))],
                    {"it": "g:components:0"})
GENERATOR_FUNCTIONS = (START, STEP, STOP, COUNTED_START, COUNTED_STOP, FAILS, FAILS_TO_START)


def gen_attrs(init: str = "Start", next: str = "Step", finalize: str = "Stop",
              types: tuple[list[np.dtype], list[np.dtype], list[np.dtype]] = ([I64], [I64], []),
              ) -> dict[str, Any]:  # fmt: skip
    return {"init_func": FuncAttr(init), "next_func": FuncAttr(next),
            "finalize_func": FuncAttr(finalize), "Tinit_func_args": types[0],
            "Tnext_func_args": types[1], "Tfinalize_func_args": types[2], **SCALAR}


# --- options ---------------------------------------------------------------------------

# What TF 2.21's client sends as OptionsDataset's serialized_options for
# o.experimental_slack = True; o.threading.private_threadpool_size = 3 (SLACK) and for
# o.threading.max_intra_op_parallelism = 2; o.experimental_deterministic = False (NOT_DET).
SLACK = b"\x12\x00\x1a\x00 \x01*\x02\x10\x03:\x00b\x00"
NOT_DET = b"\x08\x00\x12\x00\x1a\x00 \x00*\x02\x08\x02:\x00b\x00"
# GetOptions of ds.with_options(SLACK).map(f).with_options(NOT_DET), of
# zip(ds.with_options(NOT_DET), ds.with_options(SLACK)), on TF 2.21's worker.
CHAINED = b"\x08\x00\x12\x00\x1a\x00 \x00*\x04\x08\x02\x10\x03:\x00b\x00"
ZIPPED = b"\x08\x00\x12\x00\x1a\x00 \x01*\x04\x08\x02\x10\x03:\x00b\x00"
RANGE = RangeDataset(0, 3, 1, I64)


def with_options(dataset: Any, serialized: bytes) -> Any:
    return OptionsDataset(dataset, serialized)


# --- records ---------------------------------------------------------------------------

CASE_MD = md()
INIT_MD = md()
DELETED_MD, DELETER = ENV.run("AnonymousMultiDeviceIterator", devices=TWO, **SCALAR)
READ_MD, READ_ID = initialized(rng(0, 5))

CASES = [
    Case("GeneratorDataset", (i64(3), i64(10)), (v(Elements(ints(0, 10, 20), -2)),),
         gen_attrs(), functions=GENERATOR_FUNCTIONS),
    Case("GetOptions", (variant(with_options(with_options(RANGE, SLACK), NOT_DET)),),
         (s(CHAINED),)),
    Case("GetOptions", (variant(RANGE),), (s(b""),), name="no options"),
    Case("AnonymousMultiDeviceIteratorV3", (), (v(Holds("MultiDeviceIteratorResource")),),
         {"devices": TWO, **SCALAR}),
    Case("AnonymousMultiDeviceIterator", (),
         (v(Holds("MultiDeviceIteratorResource")), v(Holds("_Deleter"))),
         {"devices": TWO, **SCALAR}),
    Case("MultiDeviceIterator", (), (v(Holds("MultiDeviceIteratorResource")),),
         {"devices": TWO, "shared_name": ANONYMOUS_NAME, "container": b"", **SCALAR}),
    Case("MultiDeviceIteratorInit", (rng(0, 5), INIT_MD, i64(1)), (i64(1),)),
    Case("MultiDeviceIteratorGetNextFromShard", (READ_MD, i32(1), i64(READ_ID)), (i64(1),),
         SCALAR),
    Case("MultiDeviceIteratorToStringHandle", (CASE_MD,), (s(HandleOf(CASE_MD.item())),)),
    Case("MultiDeviceIteratorFromStringHandle", (s(CASE_MD.item().string_handle()),),
         (v(Is(CASE_MD.item())),), SCALAR),
    Case("DeleteMultiDeviceIterator", (DELETED_MD, DELETER), ()),
    Case("RemoteCall", (s(CPU.encode()), i64(3)), (i64(9),),
         {"f": FuncAttr("Square"), "Tin": [I64], "Tout": [I64]}, functions=(SQUARE,)),
    Case("RemoteCall", (s(b"/cpu:0"), i64(4)), (i64(16),),
         {"f": FuncAttr("Square"), "Tin": [I64], "Tout": [I64]}, functions=(SQUARE,),
         name="a partial device name"),
]

ERRORS = [
    Bad("GeneratorDataset", (i64(3), i64(10)), "Function 'Nope' is not registered",
        gen_attrs(next="Nope"), NotFoundError, functions=(START, STOP)),
    Bad("GetOptions", (i64(1),), "was expected to be a variant tensor"),
    Bad("AnonymousMultiDeviceIteratorV3", (), "missing attr 'devices'", SCALAR),
    Bad("AnonymousMultiDeviceIteratorV3", (), "Length for attr 'devices' of 0 must be at least "
        "minimum 1", {"devices": [], **SCALAR}),
    Bad("AnonymousMultiDeviceIterator", (), "missing attr 'output_types'", {"devices": TWO}),
    Bad("MultiDeviceIterator", (), "missing attr 'shared_name'",
        {"devices": TWO, "container": b"", **SCALAR}),
    Bad("MultiDeviceIteratorInit", (rng(0, 3), CASE_MD, i32(1)),
        "was expected to be a int64 tensor"),
    Bad("MultiDeviceIteratorGetNextFromShard", (READ_MD, i64(0), i64(1)),
        "was expected to be a int32 tensor", SCALAR),
    Bad("MultiDeviceIteratorToStringHandle", (i64(1),), "was expected to be a resource tensor"),
    Bad("MultiDeviceIteratorFromStringHandle", (s(b""),),
        "If both 'output_types' and 'output_shapes' are set, they must have the same length.",
        {"output_types": [I64, I64], "output_shapes": [()]}),
    Bad("MultiDeviceIteratorFromStringHandle", (s([b"a"]),), "string_handle must be a scalar"),
    Bad("DeleteMultiDeviceIterator", (CASE_MD,), "do not match 1 inputs specified"),
    Bad("RemoteCall", (s(b"/job:ps/replica:0/task:0/device:CPU:0"), i64(3)),
        "Device '/job:ps/replica:0/task:0/device:CPU:0' belongs to no task of this context's "
        "cluster", {"f": FuncAttr("Square"), "Tin": [I64], "Tout": [I64]},
        functions=(SQUARE,)),
    Bad("RemoteCall", (s([b"/cpu:0", b"/cpu:0"]), i64(3)), "target must be a scalar string",
        {"f": FuncAttr("Square"), "Tin": [I64], "Tout": [I64]}, functions=(SQUARE,)),
]


@pytest.mark.parametrize("module", [generator_ops, multi_device_iterator_ops, options_ops])
def test_doctests(module: ModuleType) -> None:
    failed, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0


# --- MultiDeviceIterator ------------------------------------------------------------------


def test_shards_take_elements_round_robin_then_end_as_in_tf() -> None:
    # TF 2.21's worker, range(5) over two devices read in lockstep.
    handle, incarnation = initialized(rng(0, 5))
    assert incarnation == 1
    got = [[shard(handle, i, incarnation) for i in (0, 1)] for _ in range(4)]
    assert got == [[[0], [1]], [[2], [3]], [[4], "END"], ["END", "END"]]


def test_a_shard_may_read_ahead_of_the_others() -> None:
    # TF waits forever once a shard is max_buffer_size elements ahead; here the other
    # shards' elements wait in their buffers.
    handle, incarnation = initialized(rng(0, 7), [CPU.encode()] * 3)
    assert [shard(handle, 2, incarnation) for _ in range(3)] == [[2], [5], "END"]
    assert [shard(handle, 0, incarnation) for _ in range(4)] == [[0], [3], [6], "END"]
    assert [shard(handle, 1, incarnation) for _ in range(3)] == [[1], [4], "END"]


def test_a_new_init_starts_over_and_retires_the_old_incarnation() -> None:
    handle, first = initialized(rng(0, 5))
    assert shard(handle, 0, first) == [0]
    second = int(ENV.one("MultiDeviceIteratorInit", rng(10, 15), handle, i64(1)))
    assert second == 2
    with pytest.raises(InvalidArgumentError) as caught:
        shard(handle, 0, first)
    assert caught.value.message == "Invalid incarnation id. Provided: 1; Expected: 2"
    assert [shard(handle, i, second) for i in (0, 1, 0)] == [[10], [11], [12]]


def test_reading_before_init_or_past_the_shards_is_refused() -> None:
    handle = md()
    with pytest.raises(FailedPreconditionError, match="run MultiDeviceIteratorInit"):
        shard(handle, 0, 0)
    ENV.run("MultiDeviceIteratorInit", rng(0, 3), handle, i64(1))
    with pytest.raises(InvalidArgumentError, match="shard_num 2 is out of range: the "
                       "iterator deals to 2 devices"):
        shard(handle, 2, 1)


def test_an_element_that_fails_is_the_error_of_the_shard_whose_turn_it_is() -> None:
    # map(lambda x: gather([10, 20, 30], x)) over range(6), two shards, as on TF's worker:
    # elements 3, 4 and 5 fail, each on its own shard, and the pass goes on to the end.
    params = fn("Pick", [("x", I64)], [("y", I64)],
                [const("p", i64([10, 20, 30])), const("axis", i64(0)),
                 NodeSpec("g", "GatherV2", ("p:output:0", "x", "axis:output:0"),
                          {"Tparams": I64, "Tindices": I64, "Taxis": I64, "batch_dims": 0})],
                {"y": "g:output:0"})
    env = Env([params])
    mapped = env.one("MapDataset", rng(0, 6), f=FuncAttr("Pick"), Targuments=[], **SCALAR)
    handle, incarnation = initialized(mapped, env=env)
    got = [[_read(handle, i, incarnation, env) for i in (0, 1)] for _ in range(4)]
    assert got[:2] == [[[10], [20]], [[30], "InvalidArgumentError"]]
    assert got[2:] == [["InvalidArgumentError", "InvalidArgumentError"], ["END", "END"]]


def _read(handle: np.ndarray, index: int, incarnation: int, env: Env) -> Any:
    try:
        return shard(handle, index, incarnation, env)
    except EagerError as error:
        return type(error).__name__


def test_init_and_get_next_check_the_structure() -> None:
    handle = md()
    floats = ENV.one("RangeDataset", i64(0), i64(2), i64(1), **S([F32], [()]))
    with pytest.raises(InvalidArgumentError) as caught:
        ENV.run("MultiDeviceIteratorInit", floats, handle, i64(1))
    assert caught.value.message == (
        "Data type mismatch at component 0: expected int64 but got float.")
    ENV.run("MultiDeviceIteratorInit", rng(0, 2), handle, i64(1))
    with pytest.raises(InvalidArgumentError, match="expected int32 but got int64"):
        shard(handle, 0, 1, attrs=S([I32], [()]))


def test_string_handles_name_the_resource_as_tf_does() -> None:
    handle = md()
    (text,) = ENV.run("MultiDeviceIteratorToStringHandle", handle)
    proto = tf.ResourceHandleProto().parse(text.item())
    assert (proto.device, proto.container, proto.hash_code, proto.maybe_type_name) == (
        CPU, "Anonymous", TYPE_HASH, TYPE_NAME)
    assert proto.name.startswith("Resource-")
    for attrs in ({}, SCALAR):
        (found,) = ENV.run("MultiDeviceIteratorFromStringHandle", text, **attrs)
        assert found.item() is handle.item()


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"name": "nope"}, NotFoundError,
     f"Resource Anonymous/nope/{TYPE_NAME} does not exist."),
    ({"device": "/job:worker/replica:0/task:0/device:CPU:1"}, InvalidArgumentError,
     f'Attempted create an iterator on device "{CPU}" from handle defined on device '
     '"/job:worker/replica:0/task:0/device:CPU:1"'),
    ({"hash_code": 0, "maybe_type_name": ""}, InvalidArgumentError,
     "Trying to access a handle's resource using the wrong type. The handle points to a "
     "resource (name '{name}') of type '' (hash code 0) but you are trying to access the "
     "resource as type 'tensorflow::data::(anonymous namespace)::MultiDeviceIterator' (hash "
     f"code {TYPE_HASH})"),
])
def test_a_string_handle_must_name_a_live_iterator_here(
    change: dict[str, Any], error: type[EagerError], message: str
) -> None:
    handle = md()
    proto = tf.ResourceHandleProto().parse(handle.item().string_handle())
    for field, value in change.items():
        setattr(proto, field, value)
    with pytest.raises(error) as caught:
        ENV.run("MultiDeviceIteratorFromStringHandle", s(bytes(proto)), **SCALAR)
    assert caught.value.message == message.format(name=proto.name)


def test_a_string_handle_is_checked_against_the_structure_asked_for() -> None:
    handle = md()
    text = handle.item().string_handle()
    with pytest.raises(InvalidArgumentError) as caught:
        ENV.run("MultiDeviceIteratorFromStringHandle", s(text), **S([I32], [()]))
    assert caught.value.message == (
        "Data type mismatch at component 0: expected int32 but got int64.")
    with pytest.raises(InvalidArgumentError) as caught:
        ENV.run("MultiDeviceIteratorFromStringHandle", s(text), **S([I64], [(2,)]))
    assert caught.value.message == "Incompatible shapes at component 0: expected [2] but got []."
    with pytest.raises(InvalidArgumentError, match=r"^Could not parse string_handle as a valid "
                       r"ResourceHandle$"):
        ENV.run("MultiDeviceIteratorFromStringHandle", s(b"\xff\xff"), **SCALAR)


def test_string_handles_do_not_cross_contexts() -> None:
    handle = md()
    text = s(handle.item().string_handle())
    with pytest.raises(NotFoundError, match="does not exist"):
        Env(context_id=2).run("MultiDeviceIteratorFromStringHandle", text, **SCALAR)
    assert ENV.one("MultiDeviceIteratorFromStringHandle", text).item() is handle.item()


def test_an_iterator_without_handles_is_gone() -> None:
    # Like TF's ref-counted handles: the resource goes with its last handle.
    text = s(md().item().string_handle())
    with pytest.raises(NotFoundError, match="does not exist"):
        ENV.run("MultiDeviceIteratorFromStringHandle", text)


def test_deleting_an_anonymous_iterator_does_nothing_as_in_tf() -> None:
    handle, deleter = ENV.run("AnonymousMultiDeviceIterator", devices=TWO, **SCALAR)
    ENV.run("MultiDeviceIteratorInit", rng(0, 3), handle, i64(1))
    ENV.run("DeleteMultiDeviceIterator", handle, deleter)
    assert shard(handle, 1, 1) == [1]
    ENV.run("MultiDeviceIteratorFromStringHandle", s(handle.item().string_handle()))


def test_an_iterator_shared_by_name_lives_until_deleted() -> None:
    env = Env()
    named = {"devices": TWO, "shared_name": b"foo", "container": b"", **SCALAR}
    first, again = env.one("MultiDeviceIterator", **named), env.one("MultiDeviceIterator", **named)
    assert first.item() is again.item()
    text = first.item().string_handle()
    assert tf.ResourceHandleProto().parse(text).container == "worker"  # TF's default: the job
    with pytest.raises(InvalidArgumentError, match="expected int32 but got int64"):
        env.run("MultiDeviceIterator", **{**named, **S([I32], [()])})
    _, deleter = env.run("AnonymousMultiDeviceIterator", devices=TWO, **SCALAR)
    env.run("DeleteMultiDeviceIterator", first, deleter)
    gone = f"Resource worker/foo/{TYPE_NAME} does not exist."
    for op, inputs in [("MultiDeviceIteratorFromStringHandle", [s(text)]),
                       ("MultiDeviceIteratorInit", [rng(0, 3), first, i64(1)])]:
        with pytest.raises(NotFoundError) as caught:
            env.run(op, *inputs)
        assert caught.value.message == gone
    with pytest.raises(NotFoundError, match=r"^Resource worker/foo/<unknown> does not exist\.$"):
        env.run("DeleteMultiDeviceIterator", first, deleter)
    # The name is free again: a new iterator.
    assert env.one("MultiDeviceIterator", **named).item() is not first.item()


def test_destroy_resource_op_deletes_a_multi_device_iterator_as_tf() -> None:
    # What the client sends when a non-owned MultiDeviceIterator is garbage collected.
    env = Env()
    named = {"devices": TWO, "shared_name": b"bar", "container": b"", **SCALAR}
    first = env.one("MultiDeviceIterator", **named)
    env.run("DestroyResourceOp", first, ignore_lookup_error=True)
    with pytest.raises(NotFoundError, match="does not exist"):
        env.run("MultiDeviceIteratorInit", rng(0, 3), first, i64(1))
    anonymous, _ = env.run("AnonymousMultiDeviceIterator", devices=TWO, **SCALAR)
    env.run("DestroyResourceOp", anonymous, ignore_lookup_error=True)  # ref-counted: no-op
    assert env.one("MultiDeviceIteratorInit", rng(0, 3), anonymous, i64(1)) == 1


def test_the_anonymous_name_makes_a_new_iterator_each_time() -> None:
    attrs = {"devices": TWO, "shared_name": ANONYMOUS_NAME, "container": b"", **SCALAR}
    first, second = ENV.one("MultiDeviceIterator", **attrs), ENV.one("MultiDeviceIterator", **attrs)
    assert first.item() is not second.item()
    names = [tf.ResourceHandleProto().parse(h.item().string_handle()) for h in (first, second)]
    assert {p.container for p in names} == {"AnonymousMultiDeviceIterator"}
    assert all(p.name.startswith("_AnonymousMultiDeviceIterator") for p in names)


# --- GeneratorDataset ----------------------------------------------------------------------


def read_all(dataset: np.ndarray, env: Env) -> list[int]:
    iterator = env.one("AnonymousIteratorV3", **SCALAR)
    env.run("MakeIterator", dataset, iterator)
    out = []
    while True:
        try:
            out.append(int(env.one("IteratorGetNext", iterator, **SCALAR)))
        except OutOfRangeError:
            return out


def _calls(env: Env) -> np.ndarray:
    counter = env.one("VarHandleOp", dtype=I64, shape=(), shared_name=b"")
    env.run("AssignVariableOp", counter, i64(0))
    return counter


def _count(env: Env, counter: np.ndarray) -> int:
    return int(env.one("ReadVariableOp", counter, dtype=I64))


def test_each_pass_starts_its_own_state_on_its_first_pull_and_finalizes_at_the_end() -> None:
    env = Env(GENERATOR_FUNCTIONS)
    started, finalized = _calls(env), _calls(env)
    counted = gen_attrs("CountedStart", "Step", "CountedStop", ([I64, OBJ], [I64], [OBJ]))
    dataset = env.one("GeneratorDataset", i64(3), started, i64(10), finalized, **counted)
    assert env.one("DatasetCardinality", dataset) == -2
    iterator = env.one("AnonymousIteratorV3", **SCALAR)
    env.run("MakeIterator", dataset, iterator)
    assert _count(env, started) == 0  # init_func runs at the first pull, as in TF
    assert read_all(dataset, env) == [0, 10, 20]
    assert (_count(env, started), _count(env, finalized)) == (1, 1)
    # The first iterator has a state of its own, started now.
    assert int(env.one("IteratorGetNext", iterator, **SCALAR)) == 0
    assert (_count(env, started), _count(env, finalized)) == (2, 1)
    assert read_all(dataset, env) == [0, 10, 20]
    assert (_count(env, started), _count(env, finalized)) == (3, 2)


def test_generator_function_errors_pass_as_they_are_and_are_retried() -> None:
    env = Env(GENERATOR_FUNCTIONS)
    failing_next = env.one("GeneratorDataset", i64(3),
                           **gen_attrs(next="Fails", types=([I64], [], [])))
    failing_init = env.one("GeneratorDataset", i64(3), i64(10), **gen_attrs(init="FailsToStart"))
    for dataset, function in ((failing_next, "Fails"), (failing_init, "FailsToStart")):
        iterator = env.one("AnonymousIteratorV3", **SCALAR)
        env.run("MakeIterator", dataset, iterator)
        for _ in range(2):  # the iterator stays usable: the next pull calls again
            with pytest.raises(InvalidArgumentError) as caught:
                env.run("IteratorGetNext", iterator, **SCALAR)
            # As in TF 2.21, without the prefix map's errors get.
            assert caught.value.message == (f"Function '{function}', node 'g' "
                                             "(OptionalGetValue): The given optional does not "
                                             "have a value.")


def test_a_failing_finalize_leaves_the_sequence_unfinished() -> None:
    env = Env(GENERATOR_FUNCTIONS)
    dataset = env.one("GeneratorDataset", i64(2), i64(1),
                      **gen_attrs(finalize="Fails", types=([I64], [I64], [])))
    iterator = env.one("AnonymousIteratorV3", **SCALAR)
    env.run("MakeIterator", dataset, iterator)
    assert [int(env.one("IteratorGetNext", iterator, **SCALAR)) for _ in range(2)] == [0, 1]
    for _ in range(2):  # as TF 2.21: next_func ends again, finalize_func fails again
        with pytest.raises(InvalidArgumentError, match="does not have a value"):
            env.run("IteratorGetNext", iterator, **SCALAR)


def test_captured_inputs_past_a_functions_arguments_are_left_unread() -> None:
    # TF's client appends the multi-device iterator's handle to next_func's captured
    # inputs only to keep it alive; next_func does not take it.
    env = Env(GENERATOR_FUNCTIONS)
    dataset = env.one("GeneratorDataset", i64(2), i64(5), md(),
                      **gen_attrs(types=([I64], [I64, OBJ], [])))
    assert read_all(dataset, env) == [0, 5]


# --- GetOptions --------------------------------------------------------------------------


@pytest.mark.parametrize(("dataset", "expected"), [
    (RANGE, b""),
    (with_options(RANGE, SLACK), SLACK),
    # The options set last win; submessages merge field by field.
    (with_options(with_options(RANGE, SLACK), NOT_DET), CHAINED),
    # A dataset merges its inputs' options in order.
    (ZipDataset([with_options(RANGE, NOT_DET), with_options(RANGE, SLACK)]), ZIPPED),
    # The repeated framework_type concatenates; unknown enum values survive.
    (with_options(with_options(RANGE, b"Z\x05keras"), b"Z\x03jax0\x07"),
     b"0\x07Z\x05kerasZ\x03jax"),
])
def test_get_options_merges_the_pipelines_options_as_tf(dataset: Any, expected: bytes) -> None:
    assert ENV.one("GetOptions", variant(dataset)).item() == expected


def test_the_options_dataset_op_keeps_its_options_for_get_options() -> None:
    dataset = ENV.one("OptionsDataset", variant(RANGE), serialized_options=SLACK,
                      output_types=[I64], output_shapes=[()])
    assert ENV.one("GetOptions", dataset).item() == SLACK
    with pytest.raises(InvalidArgumentError, match="Could not parse serialized_options"):
        ENV.one("OptionsDataset", variant(RANGE), serialized_options=b"\xff\xff",
                output_types=[I64], output_shapes=[()])


def test_options_that_do_not_parse_are_refused_as_in_tf() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^Could not parse serialized_options as "
                       r"valid Options\.$"):
        OptionsDataset(RANGE, b"\xff\xff")


# --- RemoteCall ----------------------------------------------------------------------------

CALL = {"f": FuncAttr("Same"), "Tin": [I64], "Tout": [I64]}


@pytest.mark.parametrize("target", [
    CPU, "", "/cpu:0", "/device:CPU:0", "/job:worker/task:0", "/job:worker/replica:0/task:0",
])
def test_remote_call_on_this_workers_cpu_runs_here(target: str) -> None:
    assert Env([IDENTITY]).run("RemoteCall", s(target.encode()), i64(7), **CALL) == [i64(7)]


@pytest.mark.parametrize(("target", "error", "message"), [
    # Another task runs it when the context's cluster names that task (tests/test_peers.py).
    ("/job:worker/replica:0/task:1/device:CPU:0", InvalidArgumentError,
     "Device '/job:worker/replica:0/task:1/device:CPU:0' belongs to no task"),
    ("/job:ps/task:0", InvalidArgumentError,
     "Device '/job:ps/replica:0/task:0/device:CPU:0' belongs to no task"),
    ("/device:GPU:0", InvalidArgumentError,
     "Device '/job:worker/replica:0/task:0/device:GPU:0' is not on this worker"),
    ("/job:worker/task:x", InvalidArgumentError,
     "Could not parse /job:worker/task:x into a device specification."),
])
def test_remote_call_to_a_device_of_no_task_is_refused_naming_it(
    target: str, error: type[EagerError], message: str
) -> None:
    env = Env([IDENTITY])
    for attempt in (lambda: env.run("RemoteCall", s(target.encode()), i64(7), **CALL),
                    lambda: env.library.lookup("RemoteCall", env.env).shapes(
                        [_spec(s(target.encode())), _spec(i64(7))], CALL)):
        with pytest.raises(error) as caught:
            attempt()
        assert message in caught.value.message


def _spec(value: np.ndarray) -> Any:
    from eager_async.kernels import TensorSpec
    return TensorSpec(value.dtype, value.shape, value)


def test_remote_call_checks_the_function_returns_tout() -> None:
    with pytest.raises(InvalidArgumentError, match=r"returned \[int64\] where Tout says "
                       r"\[int32\]"):
        Env([IDENTITY]).run("RemoteCall", s(b"/cpu:0"), i64(7), **{**CALL, "Tout": [I32]})


# --- the per-device pipeline TF's client builds --------------------------------------------

STRING = np.dtype(object)


def _per_device_functions(shard_num: int) -> list[FunctionSpec]:
    """The functions of TF 2.21's _PerDeviceGenerator for shard ``shard_num`` (see
    tensorflow/python/data/ops/multi_device_iterator_ops.py): init returns the string
    handle; next reads the shard through MultiDeviceIteratorFromStringHandle; finalize
    returns 0; each runs through a RemoteCall to the source device (a captured input)."""
    n = str(shard_num)
    init = fn("Init" + n, [("handle", STRING)], [("out", STRING)],
              [NodeSpec("i", "Identity", ("handle",), {"T": STRING})], {"out": "i:output:0"})
    remote_init = fn("RemoteInit" + n, [("target", STRING), ("handle", STRING)],
                     [("out", STRING)],
                     [NodeSpec("c", "RemoteCall", ("target", "handle"),
                               {"f": FuncAttr("Init" + n), "Tin": [STRING],
                                "Tout": [STRING]})], {"out": "c:output:0"})
    next_ = fn("Next" + n, [("handle", STRING), ("incarnation", I64)], [("y", I64)],
               [NodeSpec("r", "MultiDeviceIteratorFromStringHandle", ("handle",), SCALAR),
                const("shard", i32(shard_num)),
                NodeSpec("g", "MultiDeviceIteratorGetNextFromShard",
                         ("r:multi_device_iterator:0", "shard:output:0", "incarnation"),
                         SCALAR)], {"y": "g:components:0"})
    remote_next = fn("RemoteNext" + n, [("handle", STRING), ("incarnation", I64),
                                         ("target", STRING)], [("y", I64)],
                     [NodeSpec("c", "RemoteCall", ("target", "handle", "incarnation"),
                               {"f": FuncAttr("Next" + n), "Tin": [STRING, I64],
                                "Tout": [I64]})], {"y": "c:output:0"})
    finalize = fn("Finalize" + n, [("handle", STRING)], [("z", I64)], [const("z", i64(0))],
                  {"z": "z:output:0"})
    remote_finalize = fn("RemoteFinalize" + n, [("handle", STRING), ("target", STRING)],
                         [("z", I64)],
                         [NodeSpec("c", "RemoteCall", ("target", "handle"),
                                   {"f": FuncAttr("Finalize" + n), "Tin": [STRING],
                                    "Tout": [I64]})], {"z": "c:output:0"})
    return [init, remote_init, next_, remote_next, finalize, remote_finalize]


def test_the_per_device_datasets_of_an_owned_multi_device_iterator() -> None:
    # OwnedMultiDeviceIterator(range(7).map(x * 10), [cpu, cpu], source_device=cpu), read
    # as its get_next() reads it; TF 2.21's worker gave the same rows.
    env = Env([*_per_device_functions(0), *_per_device_functions(1), SQUARE])
    source = env.one("MapDataset", rng(0, 7), f=FuncAttr("Square"), Targuments=[], **SCALAR)
    handle = env.one("AnonymousMultiDeviceIteratorV3", devices=TWO, **SCALAR)
    incarnation = env.one("MultiDeviceIteratorInit", source, handle, i64(1))
    text = env.one("MultiDeviceIteratorToStringHandle", handle)
    target = s(CPU.encode())
    iterators = []
    for n in "01":
        attrs = {"init_func": FuncAttr("RemoteInit" + n), "next_func": FuncAttr("RemoteNext" + n),
                 "finalize_func": FuncAttr("RemoteFinalize" + n),
                 "Tinit_func_args": [STRING, STRING], "Tnext_func_args": [I64, STRING, OBJ],
                 "Tfinalize_func_args": [STRING], **SCALAR}
        per_device = env.one("GeneratorDataset", target, text, incarnation, target, handle,
                             target, **attrs)
        prefetched = env.one("PrefetchDataset", per_device, i64(1), **SCALAR)
        iterator = env.one("AnonymousIteratorV3", **SCALAR)
        env.run("MakeIterator", prefetched, iterator)
        iterators.append(iterator)
    rows = []
    for _ in range(5):
        row: list[Any] = []
        for iterator in iterators:
            try:
                row.append(int(env.one("IteratorGetNext", iterator, **SCALAR)))
            except OutOfRangeError:
                row.append("END")
        rows.append(row)
    assert rows == [[0, 1], [4, 9], [16, 25], [36, "END"], ["END", "END"]]
