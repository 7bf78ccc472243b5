"""Functions: registration (seed RPC and queue item), the body interpreter, and its errors."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from messages import create, enqueue, handle, op, send

from eager_async._proto import tensorflow as tf
from eager_async._proto.tensorflow import eager as pb
from eager_async.tensors import decode_shape, decode_tensor

CONTEXT = 77
F32 = np.dtype(np.float32)


def function(name: str, inputs: list[str], outputs: list[str], nodes: list[tf.NodeDef],
             ret: dict[str, str]) -> tf.FunctionDef:
    """A FunctionDef whose arguments all have type attr ``T``."""
    return tf.FunctionDef(
        signature=tf.OpDef(
            name=name,
            input_arg=[tf.OpDefArgDef(name=n, type_attr="T") for n in inputs],
            output_arg=[tf.OpDefArgDef(name=n, type_attr="T") for n in outputs],
            attr=[tf.OpDefAttrDef(name="T", type="type")],
        ),
        node_def=nodes,
        ret=ret,
    )


def node(name: str, op_name: str, *inputs: str) -> tf.NodeDef:
    """A body node whose ``T`` is the call's ``T`` (an attr placeholder)."""
    return tf.NodeDef(name=name, op=op_name, input=list(inputs),
                      attr={"T": tf.AttrValue(placeholder="T")})


def square() -> tf.FunctionDef:
    """SquareFn(x) = x * x."""
    return function("SquareFn", ["x"], ["y"], [node("mul", "Mul", "x", "x")], {"y": "mul:z:0"})


def sum_of_squares() -> tf.FunctionDef:
    """SumOfSquares(a, b) = SquareFn(a) + SquareFn(b), calling another function; its nodes are
    listed out of order and one has a control input."""
    return function(
        "SumOfSquares", ["a", "b"], ["total", "a_squared"],
        [node("add", "AddV2", "sa:y:0", "sb:y:0", "^sa"),
         node("sa", "SquareFn", "a"), node("sb", "SquareFn", "b")],
        {"total": "add:z:0", "a_squared": "sa:y:0"},
    )


async def run(stub: pb.EagerServiceStub, *items: pb.QueueItem) -> pb.EnqueueResponse:
    return await stub.enqueue(enqueue(CONTEXT, *items))


def register(fn: tf.FunctionDef) -> pb.QueueItem:
    return pb.QueueItem(register_function=pb.RegisterFunctionOp(function_def=fn))


@pytest.fixture
async def context(stub: pb.EagerServiceStub) -> int:
    await stub.create_context(create(CONTEXT))
    return CONTEXT


async def test_seed_register_function_rpc(stub: pb.EagerServiceStub, context: int) -> None:
    await stub.register_function(pb.RegisterFunctionRequest(context_id=context,
                                                            function_def=square()))
    reply = await run(stub, send(1, np.array([1, 2, 3], np.int32)), op(2, "SquareFn", handle(1)),
                      op(-1, "Identity", handle(2)))
    assert [decode_shape(s) for s in reply.queue_response[1].shape] == [(3,)]
    np.testing.assert_array_equal(decode_tensor(reply.queue_response[2].tensor[0]), [1, 4, 9])


async def test_nested_calls_out_of_order_nodes_and_two_outputs(
    stub: pb.EagerServiceStub, context: int,
) -> None:
    reply = await run(stub, register(square()), register(sum_of_squares()),
                      op(-1, "SumOfSquares", np.float64(3), np.float64(4)))
    total, a_squared = (decode_tensor(t) for t in reply.queue_response[2].tensor)
    assert (total, a_squared) == (25.0, 9.0)
    assert total.dtype == np.float64


async def test_library_functions_are_registered_too(stub: pb.EagerServiceStub,
                                                    context: int) -> None:
    item = pb.QueueItem(register_function=pb.RegisterFunctionOp(
        function_def=sum_of_squares(), library=tf.FunctionDefLibrary(function=[square()])))
    reply = await run(stub, item, op(-1, "SumOfSquares", np.int32(1), np.int32(2)))
    assert decode_tensor(reply.queue_response[1].tensor[0]) == 5


async def test_explicit_attrs_override_inference(stub: pb.EagerServiceStub, context: int) -> None:
    call = op(-1, "SquareFn", np.float32(3), attrs={"T": np.dtype(np.float32)})
    reply = await run(stub, register(square()), call)
    assert decode_tensor(reply.queue_response[1].tensor[0]) == np.float32(9)


async def test_re_registering_the_same_function_is_fine(stub: pb.EagerServiceStub,
                                                        context: int) -> None:
    await run(stub, register(square()), register(square()))
    different = function("SquareFn", ["x"], ["y"], [node("n", "Neg", "x")], {"y": "n:y:0"})
    with pytest.raises(GRPCError) as caught:
        await run(stub, register(different))
    assert caught.value.status == Status.INVALID_ARGUMENT
    assert "different function" in (caught.value.message or "")


@pytest.mark.parametrize(
    ("fn", "status", "fragment"),
    [
        (function("F", ["x"], ["y"], [node("n", "NoSuchOp", "x")], {"y": "n:y:0"}),
         Status.NOT_FOUND, "NoSuchOp"),
        (function("F", ["x"], ["y"], [node("n", "Neg", "missing:y:0")], {"y": "n:y:0"}),
         Status.INVALID_ARGUMENT, "no node 'missing'"),
        (function("F", ["x"], ["y"], [node("n", "Neg", "x")], {"y": "n:y:5"}),
         Status.INVALID_ARGUMENT, "bad reference 'n:y:5'"),
        (function("F", ["x"], ["y"], [node("n", "Neg", "x")], {}),
         Status.INVALID_ARGUMENT, "no ret entry for output 'y'"),
        (function("F", ["x"], ["y"], [node("a", "Neg", "b:y:0"), node("b", "Neg", "a:y:0")],
                  {"y": "a:y:0"}), Status.INVALID_ARGUMENT, "cycle"),
        (function("F", ["x"], ["y"], [node("n", "F", "x")], {"y": "n:y:0"}),
         Status.RESOURCE_EXHAUSTED, "max_function_depth"),
        (function("F", ["x"], ["y"], [node("n", "AddV2", "x")], {"y": "n:z:0"}),
         Status.INVALID_ARGUMENT, "node 'n' (AddV2)"),
    ],
    ids=["unknown-op", "unknown-node", "bad-index", "missing-ret", "cycle", "recursion",
         "wrong-arity"],
)
async def test_broken_bodies_fail_cleanly(stub: pb.EagerServiceStub, context: int,
                                          fn: tf.FunctionDef, status: Status,
                                          fragment: str) -> None:
    await run(stub, register(fn))
    with pytest.raises(GRPCError) as caught:
        await run(stub, op(-1, "F", np.float32(1)))
    assert caught.value.status == status
    assert fragment in (caught.value.message or ""), caught.value.message


async def test_wrong_argument_count(stub: pb.EagerServiceStub, context: int) -> None:
    with pytest.raises(GRPCError) as caught:
        await run(stub, register(square()), op(-1, "SquareFn", np.float32(1), np.float32(2)))
    assert caught.value.status == Status.INVALID_ARGUMENT
    assert "takes 1 inputs, got 2" in (caught.value.message or "")


async def test_placeholder_without_a_value(stub: pb.EagerServiceStub, context: int) -> None:
    fn = function("F", ["x"], ["y"], [tf.NodeDef(
        name="n", op="Cast", input=["x"], attr={"DstT": tf.AttrValue(placeholder="Out")})],
        {"y": "n:y:0"})
    with pytest.raises(GRPCError) as caught:
        await run(stub, register(fn), op(-1, "F", np.float32(1)))
    assert "needs attr 'Out'" in (caught.value.message or "")
    reply = await run(stub, op(-1, "F", np.float32(1.5), attrs={"Out": np.dtype(np.int32)}))
    assert decode_tensor(reply.queue_response[0].tensor[0]) == 1


async def test_list_arguments_are_unimplemented(stub: pb.EagerServiceStub, context: int) -> None:
    fn = tf.FunctionDef(signature=tf.OpDef(
        name="L", input_arg=[tf.OpDefArgDef(name="xs", type_attr="T", number_attr="N")]))
    with pytest.raises(GRPCError) as caught:
        await stub.register_function(pb.RegisterFunctionRequest(context_id=context,
                                                                function_def=fn))
    assert caught.value.status == Status.UNIMPLEMENTED


async def test_register_function_needs_a_signature(stub: pb.EagerServiceStub,
                                                   context: int) -> None:
    with pytest.raises(GRPCError) as caught:
        await run(stub, register(tf.FunctionDef()))
    assert caught.value.status == Status.INVALID_ARGUMENT
    assert "signature" in (caught.value.message or "")



# -- ops that call functions ------------------------------------------------------------


def negate() -> tf.FunctionDef:
    """Negate(x) = -x."""
    return function("Negate", ["x"], ["y"], [node("n", "Neg", "x")], {"y": "n:y:0"})


def count_down() -> list[tf.FunctionDef]:
    """Going(i, step) = i (true while non-zero) and Step(i, step) = (i - step, step)."""
    going = function("Going", ["i", "step"], ["more"], [node("i_", "Identity", "i")],
                     {"more": "i_:output:0"})
    step = function("Step", ["i", "step"], ["i2", "step2"],
                    [node("sub", "Sub", "i", "step"), node("s", "Identity", "step")],
                    {"i2": "sub:z:0", "step2": "s:output:0"})
    return [going, step]


def func(name: str) -> object:
    from eager_async.attrs import FuncAttr

    return FuncAttr(name)


@pytest.mark.parametrize("op_name", ["PartitionedCall", "StatefulPartitionedCall"])
async def test_partitioned_call(stub: pb.EagerServiceStub, context: int, op_name: str) -> None:
    reply = await run(stub, register(square()),
                      op(-1, op_name, np.float32(5), attrs={"f": func("SquareFn"), "Tout": [F32]}))
    assert decode_tensor(reply.queue_response[1].tensor[0]) == np.float32(25)


@pytest.mark.parametrize(("cond", "expected"), [
    (np.bool_(True), 9.0), (np.bool_(False), -3.0), (np.int32(0), -3.0),
    (np.array([0], np.int32), 9.0), (np.zeros((0,), np.float32), -3.0),
    (np.array(b"", dtype=object), -3.0),
], ids=["true", "false", "int-zero", "nonempty-vector", "empty-vector", "empty-string"])
async def test_stateless_if_follows_tfs_predicate_rule(
    stub: pb.EagerServiceStub, context: int, cond: np.ndarray, expected: float,
) -> None:
    attrs = {"then_branch": func("SquareFn"), "else_branch": func("Negate"), "Tout": [F32]}
    reply = await run(stub, register(square()), register(negate()),
                      op(-1, "StatelessIf", cond, np.float32(3), attrs=attrs))
    assert decode_tensor(reply.queue_response[2].tensor[0]) == np.float32(expected)


async def test_while_loops_until_cond_fails(stub: pb.EagerServiceStub, context: int) -> None:
    going, step = count_down()
    attrs = {"cond": func("Going"), "body": func("Step")}
    reply = await run(stub, register(going), register(step),
                      op(-1, "StatelessWhile", np.int32(9), np.int32(3), attrs=attrs))
    assert [decode_tensor(t) for t in reply.queue_response[2].tensor] == [0, 3]


async def test_control_flow_in_an_async_context_reports_shapes(
    stub: pb.EagerServiceStub,
) -> None:
    await stub.create_context(create(CONTEXT + 1, is_async=True))
    going, step = count_down()
    items = [register(square()), register(negate()), register(going), register(step),
             send(1, np.ones((2, 3), np.float32), np.bool_(True)),
             op(2, "If", handle(1, 1), handle(1, 0),
                attrs={"then_branch": func("SquareFn"), "else_branch": func("Negate"),
                       "Tout": [F32]}),
             op(3, "While", np.int32(5), np.int32(1),
                attrs={"cond": func("Going"), "body": func("Step")})]
    reply = await stub.enqueue(enqueue(CONTEXT + 1, *items))
    assert [decode_shape(s) for s in reply.queue_response[5].shape] == [(2, 3)]
    assert [decode_shape(s) for s in reply.queue_response[6].shape] == [(), ()]
    await stub.wait_queue_done(pb.WaitQueueDoneRequest(context_id=CONTEXT + 1, op_id=[2, 3]))


async def test_control_ret_nodes_run(stub: pb.EagerServiceStub, context: int) -> None:
    def with_side_effect(name: str, control_ret: dict[str, str]) -> tf.FunctionDef:
        # y = -x; the node 'side' (a Reshape that fails for these inputs) feeds no output.
        return tf.FunctionDef(
            signature=tf.OpDef(name=name, input_arg=[
                tf.OpDefArgDef(name="x", type=tf.DataType.DT_FLOAT),
                tf.OpDefArgDef(name="shape", type=tf.DataType.DT_INT32)],
                output_arg=[tf.OpDefArgDef(name="y", type=tf.DataType.DT_FLOAT)]),
            node_def=[tf.NodeDef(name="n", op="Neg", input=["x"]),
                      tf.NodeDef(name="side", op="Reshape", input=["x", "shape"])],
            ret={"y": "n:y:0"}, control_ret=control_ret)

    x, bad_shape = np.float32([1, 2, 3]), np.int32([2])
    reply = await run(stub, register(with_side_effect("Lazy", {})),
                      op(-1, "Lazy", x, bad_shape))
    np.testing.assert_array_equal(decode_tensor(reply.queue_response[1].tensor[0]), -x)
    await run(stub, register(with_side_effect("Strict", {"side": "side"})))
    with pytest.raises(GRPCError) as caught:
        await run(stub, op(-1, "Strict", x, bad_shape))
    assert caught.value.status == Status.INVALID_ARGUMENT
    assert "node 'side' (Reshape)" in (caught.value.message or ""), caught.value.message


@pytest.mark.parametrize(("name", "attrs", "fragment"), [
    ("PartitionedCall", {"Tout": [F32]}, "missing attr 'f'"),
    ("StatelessIf", {"then_branch": func("SquareFn"), "Tout": []}, "missing attr 'else_branch'"),
    ("While", {"cond": func("SquareFn"), "body": func("Nope")}, "Nope"),
    ("PartitionedCall", {"f": func("AddV2"), "Tout": [F32]}, "is not a function registered"),
], ids=["no-f", "no-else", "unknown-body", "op-not-function"])
async def test_control_flow_errors(stub: pb.EagerServiceStub, context: int, name: str,
                                   attrs: dict[str, object], fragment: str) -> None:
    with pytest.raises(GRPCError) as caught:
        await run(stub, register(square()), op(-1, name, np.float32(1), attrs=attrs))
    assert caught.value.status in (Status.INVALID_ARGUMENT, Status.NOT_FOUND)
    assert fragment in (caught.value.message or ""), caught.value.message


async def test_recursion_through_partitioned_call_is_bounded(
    stub: pb.EagerServiceStub, context: int,
) -> None:
    loop = function("Loop", ["x"], ["y"], [tf.NodeDef(
        name="again", op="PartitionedCall", input=["x"],
        attr={"f": tf.AttrValue(func=tf.NameAttrList(name="Loop")),
              "Tout": tf.AttrValue(list=tf.AttrValueListValue(type=[tf.DataType.DT_FLOAT]))})],
        {"y": "again:output:0"})
    with pytest.raises(GRPCError) as caught:
        await run(stub, register(loop), op(-1, "Loop", np.float32(1)))
    assert caught.value.status == Status.RESOURCE_EXHAUSTED
    assert "max_function_depth" in (caught.value.message or "")


async def test_references_name_the_output_argument(stub: pb.EagerServiceStub,
                                                   context: int) -> None:
    # SumOfSquares returns (total, a_squared): "sos:a_squared:0" is its second output.
    second = function("Second", ["a", "b"], ["y"], [node("sos", "SumOfSquares", "a", "b")],
                      {"y": "sos:a_squared:0"})
    reply = await run(stub, register(square()), register(sum_of_squares()), register(second),
                      op(-1, "Second", np.float32(3), np.float32(4)))
    assert decode_tensor(reply.queue_response[3].tensor[0]) == np.float32(9)


async def test_a_body_chaining_thousands_of_nodes_runs(stub: pb.EagerServiceStub,
                                                       context: int) -> None:
    # 3,000 Identity nodes in a chain: evaluated with a stack of the worker's own, not
    # Python recursion (which failed with RecursionError as INTERNAL).
    chain = [node("n0", "Identity", "x")] + [
        node(f"n{i}", "Identity", f"n{i - 1}:output:0") for i in range(1, 3000)]
    await run(stub, register(function("Chain", ["x"], ["y"], chain,
                                      {"y": "n2999:output:0"})))
    reply = await run(stub, op(-1, "Chain", np.float32(5)))
    assert decode_tensor(reply.queue_response[0].tensor[0]) == np.float32(5)


async def test_a_sync_loop_stops_when_its_caller_gives_up() -> None:
    # A While whose condition is always true, in a sync request whose client gives up
    # (its deadline; a lost connection ends the RPC the same way): the loop stops at its
    # next iteration, so the worker's only kernel thread serves another context again.
    from grpclib.client import Channel

    from eager_async import EagerServer
    from eager_async.attrs import encode_attr

    forever = tf.FunctionDef(
        signature=tf.OpDef(name="Forever", input_arg=[tf.OpDefArgDef(name="x", type_attr="T")],
                           output_arg=[tf.OpDefArgDef(name="c", type=tf.DataType.DT_BOOL)],
                           attr=[tf.OpDefAttrDef(name="T", type="type")]),
        node_def=[tf.NodeDef(name="t", op="Const", attr={
            "dtype": encode_attr(np.dtype(np.bool_)), "value": encode_attr(np.array(True))})],
        ret={"c": "t:output:0"})  # fmt: skip
    same = function("Same", ["x"], ["y"], [node("i", "Identity", "x")], {"y": "i:output:0"})
    loop = {"T": [np.dtype(np.int32)], "cond": tf.AttrValue(func=tf.NameAttrList(name="Forever")),
            "body": tf.AttrValue(func=tf.NameAttrList(name="Same"))}
    async with EagerServer(port=0, threads=1) as server:
        channel = Channel("127.0.0.1", server.port)
        try:
            stub = pb.EagerServiceStub(channel)
            await stub.create_context(create(CONTEXT))
            await run(stub, register(forever), register(same))
            items = [op(1, "While", np.int32(0), attrs={"T": loop["T"]})]
            items[0].operation.attrs["cond"] = loop["cond"]
            items[0].operation.attrs["body"] = loop["body"]
            with pytest.raises(TimeoutError):  # grpclib's client: the deadline passed
                await stub.enqueue(enqueue(CONTEXT, *items), timeout=1)
            await stub.create_context(create(CONTEXT + 1))
            reply = await asyncio.wait_for(stub.enqueue(enqueue(
                CONTEXT + 1, op(-1, "Neg", np.int32(4)))), 30)
            assert decode_tensor(reply.queue_response[0].tensor[0]) == -4
        finally:
            channel.close()
