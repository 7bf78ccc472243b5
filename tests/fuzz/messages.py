"""Well-formed requests, built with Google protobuf classes of the worker's own protos,
serialized to the bytes the fuzzer sends: tensors, attrs, operations, queue items,
function definitions and the requests of every RPC.

>>> operation(-1, "AddV2", [tensor(np.float32(1)), tensor(np.float32(2))]).name
'AddV2'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from eager_async.dtypes import from_numpy

from . import protowire as pw
from .schema import message_class

DEVICE = "/job:worker/replica:0/task:0/device:CPU:0"
CLIENT_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"

TensorProto = message_class("tensorflow.TensorProto")
TensorShapeProto = message_class("tensorflow.TensorShapeProto")
AttrValue = message_class("tensorflow.AttrValue")
NameAttrList = message_class("tensorflow.NameAttrList")
Operation = message_class("tensorflow.eager.Operation")
QueueItem = message_class("tensorflow.eager.QueueItem")
EnqueueRequest = message_class("tensorflow.eager.EnqueueRequest")
RemoteTensorHandle = message_class("tensorflow.eager.RemoteTensorHandle")
FunctionDef = message_class("tensorflow.FunctionDef")
NodeDef = message_class("tensorflow.NodeDef")
CreateContextRequest = message_class("tensorflow.eager.CreateContextRequest")
UpdateContextRequest = message_class("tensorflow.eager.UpdateContextRequest")
WaitQueueDoneRequest = message_class("tensorflow.eager.WaitQueueDoneRequest")
RunComponentFunctionRequest = message_class("tensorflow.eager.RunComponentFunctionRequest")
RegisterFunctionRequest = message_class("tensorflow.eager.RegisterFunctionRequest")
SendTensorRequest = message_class("tensorflow.eager.SendTensorRequest")
RecvTensorRequest = message_class("tensorflow.RecvTensorRequest")
ServerDef = message_class("tensorflow.ServerDef")

DT_FLOAT, DT_INT32, DT_STRING, DT_INT64, DT_BOOL = 1, 3, 7, 9, 10
DT_RESOURCE, DT_VARIANT = 20, 21


def dtype_enum(dtype: Any) -> int:
    """The TF DataType number of a NumPy dtype (DT_STRING for object arrays)."""
    return int(from_numpy(np.dtype(dtype)))


def shape(dims: Sequence[int] | None) -> Any:
    """A TensorShapeProto; None is an unknown rank."""
    proto = TensorShapeProto()
    if dims is None:
        proto.unknown_rank = True
    for size in dims or ():
        proto.dim.add(size=size)
    return proto


def tensor(value: Any, *, dtype: int | None = None, dims: Sequence[int] | None = None,
           content: bytes | None = None) -> Any:
    """A TensorProto as TF's C++ side writes it (every numeric dtype in tensor_content;
    strings as varint lengths then bytes), or with the ``dtype``, ``dims`` and
    ``content`` given, whatever they say."""
    array = np.asarray(value)
    proto = TensorProto()
    if array.dtype.kind in "USO":
        array = np.asarray(array, dtype=object)
        proto.dtype = DT_STRING if dtype is None else dtype
        items = [x if isinstance(x, bytes) else str(x).encode() for x in array.reshape(-1)]
        proto.tensor_content = (content if content is not None else
                                b"".join(pw.varint(len(x)) for x in items) + b"".join(items))
    else:
        proto.dtype = dtype_enum(array.dtype) if dtype is None else dtype
        proto.tensor_content = content if content is not None else array.tobytes()
    proto.tensor_shape.CopyFrom(shape(array.shape if dims is None else dims))
    return proto


def attr(value: Any) -> Any:
    """An AttrValue of a plain Python value: bool, int, float, bytes/str (s), a NumPy
    dtype (type), a tuple of ints (shape), an ndarray (tensor), ``Func(name)``, a list
    of any of these (list), or an AttrValue as it is."""
    if isinstance(value, AttrValue):
        return value
    proto = AttrValue()
    if isinstance(value, bool):
        proto.b = value
    elif isinstance(value, int):
        proto.i = value
    elif isinstance(value, float):
        proto.f = value
    elif isinstance(value, bytes | str):
        proto.s = value.encode() if isinstance(value, str) else value
    elif isinstance(value, np.dtype):
        proto.type = dtype_enum(value)
    elif isinstance(value, tuple):
        proto.shape.CopyFrom(shape(value))
    elif isinstance(value, np.ndarray):
        proto.tensor.CopyFrom(tensor(value))
    elif isinstance(value, Func):
        proto.func.name = value.name
        for key, inner in value.attrs.items():
            proto.func.attr[key].CopyFrom(attr(inner))
    elif isinstance(value, list):
        proto.list.SetInParent()
        for item in value:
            if isinstance(item, bool):
                proto.list.b.append(item)
            elif isinstance(item, int):
                proto.list.i.append(item)
            elif isinstance(item, float):
                proto.list.f.append(item)
            elif isinstance(item, bytes | str):
                proto.list.s.append(item.encode() if isinstance(item, str) else item)
            elif isinstance(item, np.dtype):
                proto.list.type.append(dtype_enum(item))
            elif isinstance(item, tuple):
                proto.list.shape.append(shape(item))
            elif isinstance(item, Func):
                proto.list.func.append(attr(item).func)
            else:
                proto.list.tensor.append(tensor(item))
    else:
        raise TypeError(f"no AttrValue for {value!r}")
    return proto


class Func:
    """A function-valued attr (NameAttrList)."""

    def __init__(self, name: str, attrs: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.attrs = dict(attrs or {})


def handle(op_id: int, output_num: int = 0, dtype: int = 0) -> Any:
    """A RemoteTensorHandle as the stock client sends it (device and op_device set)."""
    return RemoteTensorHandle(op_id=op_id, output_num=output_num, device=DEVICE,
                              op_device=DEVICE, dtype=dtype)


def operation(op_id: int, name: str, inputs: Iterable[Any] = (),
              attrs: Mapping[str, Any] | None = None, device: str = DEVICE, **fields: Any
              ) -> Any:
    """An Operation with TF 2.21 ``op_inputs``: each input a TensorProto (inline) or a
    RemoteTensorHandle."""
    op = Operation(id=op_id, name=name, device=device, **fields)
    for value in inputs:
        if isinstance(value, RemoteTensorHandle):
            op.op_inputs.add(remote_handle=value)
        else:
            op.op_inputs.add(tensor=value)
    for key, value in (attrs or {}).items():
        op.attrs[key].CopyFrom(attr(value))
    return op


def item_operation(op: Any) -> Any:
    return QueueItem(operation=op)


def item_send(op_id: int, *tensors: Any) -> Any:
    item = QueueItem()
    item.send_tensor.op_id = op_id
    item.send_tensor.device_name = DEVICE
    item.send_tensor.tensors.extend(tensors)
    return item


def item_register(function_def: Any) -> Any:
    item = QueueItem()
    item.register_function.function_def.CopyFrom(function_def)
    return item


def item_decref(op_id: int, output_num: int = 0) -> Any:
    item = QueueItem()
    item.handle_to_decref.op_id = op_id
    item.handle_to_decref.output_num = output_num
    return item


def enqueue(context_id: int, *items: Any) -> bytes:
    request = EnqueueRequest(context_id=context_id)
    request.queue.extend(items)
    return bytes(request.SerializeToString())


def function(name: str, inputs: Sequence[tuple[str, str]], outputs: Sequence[tuple[str, str]],
             nodes: Sequence[Any], ret: Mapping[str, str],
             type_attrs: Sequence[str] = ()) -> Any:
    """A FunctionDef; an argument's type is a DataType name (``DT_FLOAT``) or the name of
    a type attr of the function."""
    fn = FunctionDef()
    fn.signature.name = name
    for arg, kind in inputs:
        _arg(fn.signature.input_arg.add(), arg, kind)
    for arg, kind in outputs:
        _arg(fn.signature.output_arg.add(), arg, kind)
    for attr_name in type_attrs:
        fn.signature.attr.add(name=attr_name, type="type")
    fn.node_def.extend(nodes)
    for key, value in ret.items():
        fn.ret[key] = value
    return fn


def _arg(proto: Any, name: str, kind: str) -> None:
    proto.name = name
    if kind.startswith("DT_"):
        proto.type = _DTYPES[kind]
    else:
        proto.type_attr = kind


_DTYPES = {"DT_FLOAT": DT_FLOAT, "DT_INT32": DT_INT32, "DT_BOOL": DT_BOOL,
           "DT_INT64": DT_INT64, "DT_STRING": DT_STRING}


def node(name: str, op: str, inputs: Sequence[str] = (), attrs: Mapping[str, Any] | None = None
         ) -> Any:
    proto = NodeDef(name=name, op=op, input=list(inputs))
    for key, value in (attrs or {}).items():
        proto.attr[key].CopyFrom(attr(value))
    return proto


def serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())
