"""Records of the ops that call functions (functional_ops) and of ``_Send``; each record
names the functions its op may call, registered in a library of its own."""

from __future__ import annotations

import asyncio

import numpy as np
from kernel_records import LOOP, RENDEZVOUS, STEP, Bad, Case, f32, i32, lookup

from eager_async.attrs import FuncAttr, Placeholder
from eager_async.errors import InvalidArgumentError, NotFoundError
from eager_async.functions import ArgSpec, FunctionSpec, NodeSpec

F32, I32 = np.dtype(np.float32), np.dtype(np.int32)
T = {"T": Placeholder("T")}


def _fn(name: str, inputs: list[str], outputs: list[str], nodes: list[NodeSpec],
        ret: dict[str, str]) -> FunctionSpec:
    return FunctionSpec(name, tuple(ArgSpec(n, type_attr="T") for n in inputs),
                        tuple(ArgSpec(n, type_attr="T") for n in outputs), tuple(nodes), ret)


SQUARE = _fn("SquareFn", ["x"], ["y"], [NodeSpec("mul", "Mul", ("x", "x"), T)], {"y": "mul:z:0"})
NEGATE = _fn("Negate", ["x"], ["y"], [NodeSpec("n", "Neg", ("x",), T)], {"y": "n:y:0"})
PAIR = _fn("Pair", ["x"], ["a", "b"], [NodeSpec("n", "Neg", ("x",), T)],
           {"a": "n:y:0", "b": "x"})
# Going(i, step) = i (true while non-zero); Step(i, step) = (i - step, step).
GOING = _fn("Going", ["i", "step"], ["more"], [NodeSpec("i_", "Identity", ("i",), T)],
            {"more": "i_:output:0"})
STEP_FN = _fn("Step", ["i", "step"], ["i2", "step2"],
              [NodeSpec("sub", "Sub", ("i", "step"), T),
               NodeSpec("s", "Identity", ("step",), T)],
              {"i2": "sub:z:0", "step2": "s:output:0"})
BRANCHES = (SQUARE, NEGATE)
LOOP_FNS = (GOING, STEP_FN)

CALL = {"f": FuncAttr("SquareFn"), "Tout": [F32]}
IF = {"then_branch": FuncAttr("SquareFn"), "else_branch": FuncAttr("Negate"), "Tout": [F32]}
WHILE = {"cond": FuncAttr("Going"), "body": FuncAttr("Step")}
SEND = {"tensor_name": b"edge_1", "send_device": b"/job:worker/replica:0/task:0/device:CPU:0",
        "send_device_incarnation": 3,
        "recv_device": b"/job:localhost/replica:0/task:0/device:CPU:0"}

RECV = {"tensor_type": F32, "tensor_name": b"edge_9",
        "send_device": b"/job:worker/replica:0/task:0/device:CPU:0",
        "send_device_incarnation": 3,
        "recv_device": b"/job:worker/replica:0/task:0/device:CPU:0"}
# What a _Send of this worker left, for the _Recv record below (the key RECV names).
RENDEZVOUS.put(STEP, "/job:worker/replica:0/task:0/device:CPU:0;0000000000000003;"
               "/job:worker/replica:0/task:0/device:CPU:0;edge_9;0:0", f32([4, 2]))
HOST_RECV = {**RECV, "tensor_name": b"edge_10"}
RENDEZVOUS.put(STEP, "/job:worker/replica:0/task:0/device:CPU:0;0000000000000003;"
               "/job:worker/replica:0/task:0/device:CPU:0;edge_10;0:0", f32([5]))

CASES = [
    Case("PartitionedCall", (f32([1, -2]),), (f32([1, 4]),), CALL, functions=(SQUARE,)),
    Case("StatefulPartitionedCall", (f32(3),), (f32(9),), CALL, functions=(SQUARE,)),
    Case("If", (np.bool_(True), f32([3])), (f32([9]),), IF, functions=BRANCHES),
    Case("If", (i32(0), f32([3])), (f32([-3]),), IF, functions=BRANCHES, name="int cond"),
    Case("StatelessIf", (np.zeros((0,), np.float32), f32(2)), (f32(-2),), IF,
         functions=BRANCHES, name="empty tensor is false"),
    Case("StatelessIf", (np.array(b"x", dtype=object), f32(2)), (f32(4),), IF,
         functions=BRANCHES, name="non-empty string is true"),
    Case("While", (i32(9), i32(3)), (i32(0), i32(3)), WHILE, functions=LOOP_FNS),
    Case("StatelessWhile", (i32(0), i32(1)), (i32(0), i32(1)), WHILE, functions=LOOP_FNS,
         name="never enters"),
    Case("_Send", (f32([7]),), (), SEND),
    Case("_Recv", (), (f32([4, 2]),), RECV, data_dependent=True),
    Case("_HostSend", (f32([7]),), (), {**SEND, "tensor_name": b"edge_host"}),
    Case("_HostRecv", (), (f32([5]),), HOST_RECV, data_dependent=True),
]

ERRORS = [
    Bad("PartitionedCall", (f32(1),), "missing attr 'f'", {"Tout": [F32]}),
    Bad("PartitionedCall", (f32(1),), "'AddV2' is not a function registered",
        {"f": FuncAttr("AddV2"), "Tout": [F32]}),
    Bad("StatefulPartitionedCall", (f32(1),), "Function 'Nope' is not registered",
        {"f": FuncAttr("Nope"), "Tout": [F32]}, NotFoundError, functions=(SQUARE,)),
    Bad("If", (np.bool_(True), f32(1)), "missing attr 'else_branch'",
        {"then_branch": FuncAttr("SquareFn"), "Tout": [F32]}, functions=(SQUARE,)),
    Bad("StatelessIf", (np.bool_(False), f32(1)), "returned a list of 2 tensors where its "
        "attrs say 1",
        {**IF, "else_branch": FuncAttr("Pair")}, functions=(SQUARE, PAIR)),
    Bad("While", (i32(1), i32(1)), "Function 'SquareFn' takes 1 inputs, got 2",
        {"cond": FuncAttr("Going"), "body": FuncAttr("SquareFn")}, functions=(GOING, SQUARE)),
    Bad("StatelessWhile", (i32(1), i32(1)), "Function 'Step' is not registered", WHILE,
        NotFoundError, functions=(GOING,)),
    Bad("_Send", (f32(1),), "missing attr 'tensor_name'"),
    Bad("_Recv", (), "belongs to no task of this context's cluster",
        {**RECV, "send_device": b"/job:ps/replica:0/task:3/device:CPU:0"}),
    Bad("_HostSend", (f32(1),), "missing attr 'send_device'",
        {"tensor_name": b"e", "send_device_incarnation": 1, "recv_device": b"/cpu:0"}),
    Bad("_HostRecv", (), "belongs to no task of this context's cluster",
        {**HOST_RECV, "send_device": b"/job:ps/replica:0/task:3/device:CPU:0"}),
]


def test_send_leaves_its_input_in_the_rendezvous() -> None:
    lookup("_Send").run([f32([5, 6])], {**SEND, "tensor_name": b"edge_2"})
    key = ("/job:worker/replica:0/task:0/device:CPU:0;0000000000000003;"
           "/job:localhost/replica:0/task:0/device:CPU:0;edge_2;0:0")
    sent = asyncio.run_coroutine_threadsafe(RENDEZVOUS.take(STEP, key), LOOP).result(10)
    np.testing.assert_array_equal(sent, f32([5, 6]))


def test_branches_of_different_dtypes_are_rejected_before_running() -> None:
    to_int = _fn("ToInt", ["x"], ["y"], [NodeSpec("c", "Cast", ("x",), {"DstT": I32})],
                 {"y": "c:y:0"})
    call = lookup("If", (SQUARE, to_int))
    attrs = {**IF, "else_branch": FuncAttr("ToInt")}
    from eager_async.kernels import TensorSpec

    try:
        call.shapes([TensorSpec(np.dtype(bool), ()), TensorSpec(F32, (2,))], attrs)
    except InvalidArgumentError as error:
        assert "the branches return different dtypes" in error.message
    else:
        raise AssertionError("If accepted branches of different dtypes")
