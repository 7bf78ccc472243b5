"""tf.data through a real worker: pipelines built with Enqueue items the way TF 2.21's
client sends them (the op names, attrs, handles and functions of traces of
``tf.data.Dataset.from_tensor_slices((x, y)).shuffle(100, seed=1).batch(4)`` iterated
eagerly and of Keras 3's ``model.fit``), read back element by element up to
OUT_OF_RANGE, and bad pipelines refused with TF's statuses. Expected values are what
TensorFlow 2.21 gave for the same program.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from messages import create, enqueue, handle, op, send

from eager_async._proto import tensorflow as tf
from eager_async._proto.tensorflow import eager as pb
from eager_async.attrs import FuncAttr, encode_attr
from eager_async.tensors import decode_tensor, encode_shape

CONTEXT = 91
F32, I32, I64 = np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64)
BOOL = np.dtype(np.bool_)
X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10, dtype=np.int32)


def structure(types: list[np.dtype], shapes: list[tuple[int, ...]],
              types_name: str = "output_types") -> dict[str, Any]:
    """The element-structure attrs of a dataset op, as TF's client sends them."""
    return {types_name: types, "output_shapes": [encode_shape(s) for s in shapes]}


PAIR = structure([F32, I32], [(2,), ()])
BATCHES = structure([F32, I32], [(-1, 2), (-1,)])
SCALAR = structure([I64], [()])


async def run(stub: pb.EagerServiceStub, *items: pb.QueueItem) -> pb.EnqueueResponse:
    return await stub.enqueue(enqueue(CONTEXT, *items))


async def fetch(stub: pb.EagerServiceStub, name: str, *inputs: Any,
                attrs: dict[str, Any] | None = None) -> list[np.ndarray]:
    """Run one op with its outputs sent back inline."""
    reply = await run(stub, op(-1, name, *inputs, attrs=attrs))
    return [decode_tensor(t) for t in reply.queue_response[0].tensor]


async def failure(stub: pb.EagerServiceStub, *items: pb.QueueItem) -> GRPCError:
    with pytest.raises(GRPCError) as caught:
        await run(stub, *items)
    return caught.value


@pytest.fixture
async def context(stub: pb.EagerServiceStub) -> int:
    await stub.create_context(create(CONTEXT))
    return CONTEXT


def shuffled_batches() -> list[pb.QueueItem]:
    """from_tensor_slices((X, Y)).shuffle(100, seed=1).batch(4) as TF's client sends it:
    the seeds (87654321, 1) go through the worker's Equal/LogicalAnd/SelectV2 first."""
    return [
        send(1, X), send(2, Y),
        op(3, "TensorSliceDataset", handle(1), handle(2),
           attrs=structure([F32, I32], [(2,), ()], "Toutput_types")),
        send(4, np.int64(100)), send(5, np.int64(87654321)), send(6, np.int64(1)),
        send(7, np.int64(0)),
        op(8, "Equal", handle(5), handle(7), attrs={"T": I64}),
        op(9, "Equal", handle(6), handle(7), attrs={"T": I64}),
        op(10, "LogicalAnd", handle(8), handle(9)),
        send(11, np.int64(2**31 - 1)),
        op(12, "SelectV2", handle(10), handle(11), handle(6), attrs={"T": I64}),
        op(13, "DummySeedGenerator"),
        op(14, "ShuffleDatasetV3", handle(3), handle(4), handle(5), handle(12), handle(13),
           attrs=PAIR),
        send(15, np.int64(4)), send(16, np.bool_(False)),
        op(18, "BatchDatasetV2", handle(14), handle(15), handle(16), attrs=BATCHES),
        op(19, "AnonymousIteratorV3", attrs=BATCHES),
        op(20, "MakeIterator", handle(18), handle(19)),
    ]


async def test_shuffled_batches_in_tfs_order_then_out_of_range(
    stub: pb.EagerServiceStub, context: int
) -> None:
    await run(stub, *shuffled_batches())
    got = [await fetch(stub, "IteratorGetNext", handle(19), attrs=BATCHES) for _ in range(3)]
    # TF 2.21's client against TF 2.21's worker read these batches.
    assert [x.tolist() for x, _ in got] == [
        [[0.0, 1.0], [18.0, 19.0], [10.0, 11.0], [2.0, 3.0]],
        [[4.0, 5.0], [14.0, 15.0], [6.0, 7.0], [16.0, 17.0]],
        [[12.0, 13.0], [8.0, 9.0]],
    ]
    assert [y.tolist() for _, y in got] == [[0, 9, 5, 1], [2, 7, 3, 8], [6, 4]]
    assert {x.dtype for x, _ in got} == {F32} and {y.dtype for _, y in got} == {I32}
    for _ in range(2):  # and OUT_OF_RANGE every time after the end
        error = await failure(stub, op(-1, "IteratorGetNext", handle(19), attrs=BATCHES))
        assert error.status == Status.OUT_OF_RANGE
        assert "End of sequence" in (error.message or "")
    assert await fetch(stub, "DatasetCardinality", handle(18)) == [np.int64(3)]


async def test_get_next_as_optional_ends_with_an_empty_optional(
    stub: pb.EagerServiceStub, context: int
) -> None:
    await run(stub, *shuffled_batches())
    seen = 0
    for op_id in range(30, 35):
        await run(stub, op(op_id, "IteratorGetNextAsOptional", handle(19), attrs=BATCHES))
        (has_value,) = await fetch(stub, "OptionalHasValue", handle(op_id))
        if not has_value:
            break
        _, y = await fetch(stub, "OptionalGetValue", handle(op_id), attrs=BATCHES)
        seen += y.size
    assert (seen, op_id) == (10, 33)
    error = await failure(stub, op(-1, "OptionalGetValue", handle(33), attrs=BATCHES))
    assert error.status == Status.INVALID_ARGUMENT
    assert "does not have a value" in (error.message or "")


# --- functions: Keras 3's array-adapter pipeline and its train step ----------------------


def attr(value: Any) -> tf.AttrValue:
    return encode_attr(value)


def node(name: str, op_name: str, *inputs: str, **attrs: Any) -> tf.NodeDef:
    return tf.NodeDef(name=name, op=op_name, input=list(inputs),
                      attr={k: attr(v) for k, v in attrs.items()})


def const(name: str, value: np.ndarray | np.generic) -> tf.NodeDef:
    value = np.asarray(value)
    return node(name, "Const", dtype=value.dtype, value=value)


def function(name: str, inputs: list[tuple[str, int]], outputs: list[tuple[str, int]],
             nodes: list[tf.NodeDef], ret: dict[str, str],
             control_ret: dict[str, str] | None = None) -> tf.FunctionDef:
    """A FunctionDef with arguments of fixed types, as tf.function traces them."""
    return tf.FunctionDef(
        signature=tf.OpDef(
            name=name,
            input_arg=[tf.OpDefArgDef(name=n, type=t) for n, t in inputs],
            output_arg=[tf.OpDefArgDef(name=n, type=t) for n, t in outputs],
            control_output=list(control_ret or {}),
        ),
        node_def=nodes, ret=ret, control_ret=control_ret or {},
    )


def register(*functions: tf.FunctionDef) -> pb.QueueItem:
    first, *library = functions
    return pb.QueueItem(register_function=pb.RegisterFunctionOp(
        function_def=first, library=tf.FunctionDefLibrary(function=library)))


DT_I64, DT_F32, DT_I32 = tf.DataType.DT_INT64, tf.DataType.DT_FLOAT, tf.DataType.DT_INT32
DT_VARIANT, DT_RESOURCE = tf.DataType.DT_VARIANT, tf.DataType.DT_RESOURCE
N, BATCH = 10, 4  # 10 samples in batches of 4: 2 full batches and a partial one


def keras_functions() -> tf.FunctionDef:
    """Keras 3's array adapter functions (as traced from TF 2.21 with x of shape
    (10, 3)), without its RandomShuffle: permutation() gives range(10) in order."""
    permutation = function(
        "permutation", [("args_0", DT_I64)], [("identity", DT_I64)],
        [const("start", np.int64(0)), const("limit", np.int64(N)), const("delta", np.int64(1)),
         node("range", "Range", "start:output:0", "limit:output:0", "delta:output:0",
              Tidx=I64),
         node("Identity", "Identity", "range:output:0", T=I64)],
        {"identity": "Identity:output:0"})
    slice_batch_indices = function(
        "slice_batch_indices", [("args_0", DT_I64)], [("identity", DT_VARIANT)],
        [const("begin", np.array([0], np.int32)), const("size", np.array([8], np.int32)),
         node("Slice", "Slice", "args_0", "begin:output:0", "size:output:0", Index=I32, T=I64),
         const("shape", np.array([2, BATCH], np.int32)),
         node("Reshape", "Reshape", "Slice:output:0", "shape:output:0", T=I64, Tshape=I32),
         node("TensorSliceDataset", "TensorSliceDataset", "Reshape:output:0",
              Toutput_types=[I64], output_shapes=[encode_shape([BATCH])]),
         const("begin_1", np.array([8], np.int32)), const("size_1", np.array([2], np.int32)),
         node("Slice_1", "Slice", "args_0", "begin_1:output:0", "size_1:output:0", Index=I32,
              T=I64),
         node("TensorDataset", "TensorDataset", "Slice_1:output:0", "^TensorSliceDataset",
              Toutput_types=[I64], output_shapes=[encode_shape([2])]),
         node("ConcatenateDataset", "ConcatenateDataset", "TensorSliceDataset:handle:0",
              "TensorDataset:handle:0", output_types=[I64], output_shapes=[encode_shape([-1])]),
         node("Identity", "Identity", "ConcatenateDataset:handle:0", T=np.dtype(object))],
        {"identity": "Identity:output:0"})
    grab_batch = function(
        "grab_batch", [("args_0", DT_I64), ("args_1", DT_F32), ("args_2", DT_I32)],
        [("identity", DT_F32), ("identity_1", DT_I32)],
        [const("axis", np.int32(0)),
         node("GatherV2", "GatherV2", "args_1", "args_0", "axis:output:0", Taxis=I32,
              Tindices=I64, Tparams=F32),
         node("GatherV2_1", "GatherV2", "args_2", "args_0", "axis:output:0", Taxis=I32,
              Tindices=I64, Tparams=I32),
         node("Identity", "Identity", "GatherV2:output:0", T=F32),
         node("Identity_1", "Identity", "GatherV2_1:output:0", T=I32)],
        {"identity": "Identity:output:0", "identity_1": "Identity_1:output:0"})
    return [permutation, slice_batch_indices, grab_batch]


XS = np.arange(N * 3, dtype=np.float32).reshape(N, 3)
YS = np.arange(N, dtype=np.int32) % 2
KERAS_BATCHES = structure([F32, I32], [(-1, 3), (-1,)])


def keras_pipeline() -> list[pb.QueueItem]:
    """The ops ``model.fit(x, y, batch_size=4)`` sends for its data (TF 2.21, Keras 3)."""
    return [
        send(37, np.int64(0)), send(38, np.int64(1)),
        op(39, "RangeDataset", handle(37), handle(38), handle(38), attrs=SCALAR),
        op(40, "MapDataset", handle(39), attrs={
            "f": FuncAttr("permutation"), "preserve_cardinality": True, "Targuments": [],
            **structure([I64], [(N,)])}),
        op(41, "PrefetchDataset", handle(40), handle(38),
           attrs={"legacy_autotune": False, **structure([I64], [(N,)])}),
        op(42, "FlatMapDataset", handle(41), attrs={
            "f": FuncAttr("slice_batch_indices"), "Targuments": [],
            **structure([I64], [(-1,)])}),
        send(43, XS), send(44, YS),
        op(45, "TensorDataset", handle(43), handle(44),
           attrs=structure([F32, I32], [(N, 3), (N,)], "Toutput_types")),
        send(46, np.int64(-1)),
        op(47, "RepeatDataset", handle(45), handle(46),
           attrs=structure([F32, I32], [(N, 3), (N,)])),
        op(48, "ZipDataset", handle(42), handle(47), attrs={
            "N": 2, **structure([I64, F32, I32], [(-1,), (N, 3), (N,)])}),
        op(49, "ParallelMapDatasetV2", handle(48), handle(46), attrs={
            "f": FuncAttr("grab_batch"), "preserve_cardinality": True, "Targuments": [],
            **KERAS_BATCHES}),
        op(50, "OptionsDataset", handle(49), attrs={
            "serialized_options": b"\x12\x00\x1a\x02\x08\x00*\x000\x01:\x00b\x00",
            **KERAS_BATCHES}),
        op(51, "OptionsDataset", handle(50), attrs={
            "serialized_options": b"\x12\x02\x08\x02\x1a\x00*\x00:\x00b\x00", **KERAS_BATCHES}),
        op(52, "PrefetchDataset", handle(51), handle(46), attrs=KERAS_BATCHES),
        op(55, "AnonymousIteratorV3", attrs=KERAS_BATCHES),
        op(56, "MakeIterator", handle(52), handle(55)),
    ]


def multi_step() -> tf.FunctionDef:
    """Keras's ``multi_step_on_iterator``, its train step reduced to the batch's sum: the
    next batch from the iterator, then an optional of the step's result."""
    return function(
        "multi_step_on_iterator", [("iterator", DT_RESOURCE)], [("identity", DT_VARIANT)],
        [node("IteratorGetNext", "IteratorGetNext", "iterator", **KERAS_BATCHES),
         const("axes", np.array([0, 1], np.int32)),
         node("sum", "Sum", "IteratorGetNext:components:0", "axes:output:0", T=F32, Tidx=I32),
         node("optional", "OptionalFromValue", "sum:output:0", Toutput_types=[F32]),
         node("Identity", "Identity", "optional:optional:0", T=np.dtype(object))],
        {"identity": "Identity:output:0"},
        {"IteratorGetNext": "IteratorGetNext"})


async def test_keras_array_adapter_pipeline_and_train_steps(
    stub: pb.EagerServiceStub, context: int
) -> None:
    await run(stub, register(*keras_functions()), *keras_pipeline())
    batches = [await fetch(stub, "IteratorGetNext", handle(55), attrs=KERAS_BATCHES)
               for _ in range(3)]
    assert [y.tolist() for _, y in batches] == [YS[0:4].tolist(), YS[4:8].tolist(),
                                                YS[8:10].tolist()]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in batches]), XS)
    # A second epoch's iterator over the same dataset, driven by the train function.
    await run(stub, register(multi_step()), op(60, "AnonymousIteratorV3", attrs=KERAS_BATCHES),
              op(61, "MakeIterator", handle(52), handle(60)))
    sums = []
    for op_id in (62, 63, 64):
        await run(stub, op(op_id, "multi_step_on_iterator", handle(60)))
        (has_value,) = await fetch(stub, "OptionalHasValue", handle(op_id))
        (total,) = await fetch(stub, "OptionalGetValue", handle(op_id),
                               attrs=structure([F32], [()]))
        assert has_value
        sums.append(float(total))
    assert sums == [float(XS[0:4].sum()), float(XS[4:8].sum()), float(XS[8:10].sum())]
    error = await failure(stub, op(65, "multi_step_on_iterator", handle(60)))
    assert error.status == Status.OUT_OF_RANGE  # what Keras catches to end an epoch
    assert "End of sequence" in (error.message or "")


async def test_flat_map_whose_function_builds_a_dataset(
    stub: pb.EagerServiceStub, context: int
) -> None:
    range_of = function(
        "range_of", [("n", DT_I64)], [("ds", DT_VARIANT)],
        [const("zero", np.int64(0)), const("one", np.int64(1)),
         node("r", "RangeDataset", "zero:output:0", "n", "one:output:0", **SCALAR)],
        {"ds": "r:handle:0"})
    await run(stub, register(range_of), send(1, np.int64(1)), send(2, np.int64(4)),
              op(3, "RangeDataset", handle(1), handle(2), handle(1), attrs=SCALAR),
              op(4, "FlatMapDataset", handle(3),
                 attrs={"f": FuncAttr("range_of"), "Targuments": [], **SCALAR}),
              op(5, "AnonymousIteratorV3", attrs=SCALAR), op(6, "MakeIterator", handle(4),
                                                           handle(5)))
    got = [int((await fetch(stub, "IteratorGetNext", handle(5), attrs=SCALAR))[0])
           for _ in range(6)]
    assert got == [0, 0, 1, 0, 1, 2]  # TF: range(1, 4).flat_map(range)
    error = await failure(stub, op(-1, "IteratorGetNext", handle(5), attrs=SCALAR))
    assert error.status == Status.OUT_OF_RANGE


# --- refused pipelines --------------------------------------------------------------------


async def test_bad_pipelines_are_refused_with_tfs_statuses(
    stub: pb.EagerServiceStub, context: int
) -> None:
    await run(stub, send(1, np.int64(0)), send(2, np.int64(5)), send(3, np.int64(1)),
              op(4, "RangeDataset", handle(1), handle(2), handle(3), attrs=SCALAR),
              op(5, "AnonymousIteratorV3", attrs=SCALAR))
    batch = structure([I64], [(-1,)])
    error = await failure(stub, op(6, "BatchDatasetV2", handle(4), handle(1),
                                   np.bool_(False), attrs=batch))
    assert error.status == Status.INVALID_ARGUMENT
    assert "Batch size must be greater than zero." in (error.message or "")

    error = await failure(stub, op(7, "MapDataset", handle(4), attrs={
        "f": FuncAttr("nowhere"), "Targuments": [], **SCALAR}))
    assert error.status == Status.NOT_FOUND
    assert "Function 'nowhere' is not registered" in (error.message or "")

    error = await failure(stub, op(-1, "IteratorGetNext", handle(5), attrs=SCALAR))
    assert error.status == Status.FAILED_PRECONDITION
    assert "iterator has not been initialized" in (error.message or "")

    floats = await run(stub, op(8, "AnonymousIteratorV3", attrs=structure([F32], [()])))
    assert floats is not None
    error = await failure(stub, op(9, "MakeIterator", handle(4), handle(8)))
    assert error.status == Status.INVALID_ARGUMENT
    assert "Data type mismatch at component 0: expected float but got int64." in (
        error.message or "")


async def test_async_context_reports_end_of_sequence(stub: pb.EagerServiceStub) -> None:
    await stub.create_context(create(CONTEXT, is_async=True))
    await run(stub, send(1, np.int64(0)), send(2, np.int64(1)),
              op(3, "RangeDataset", handle(1), handle(2), handle(2), attrs=SCALAR),
              op(4, "AnonymousIteratorV3", attrs=SCALAR), op(5, "MakeIterator", handle(3),
                                                          handle(4)))
    assert (await fetch(stub, "IteratorGetNext", handle(4), attrs=SCALAR)) == [np.int64(0)]
    error = await failure(stub, op(-1, "IteratorGetNext", handle(4), attrs=SCALAR))
    assert error.status == Status.OUT_OF_RANGE
