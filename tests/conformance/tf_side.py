"""The TensorFlow half of ``make conformance``: runs each case on TensorFlow 2.21 itself.

Runs in ``.venv-tf`` with that venv's interpreter and imports no eager_async (the file
format is in ``transport.py``)::

    .venv-tf/bin/python tests/conformance/tf_side.py signatures OPS.pkl SIGS.pkl
    .venv-tf/bin/python tests/conformance/tf_side.py run CASES.pkl RESULTS.pkl [--start N]

``signatures`` writes the op definitions of the ops named in OPS.pkl (a pickled list of
names) as plain dicts. ``run`` executes every case from index N on, eagerly on the CPU,
and appends one result record per case to RESULTS.pkl.

Each op runs the way TF's remote eager worker runs an enqueued operation: the raw op
with the caller's attrs, through ``execute.execute`` (what ``tf.raw_ops.<Op>`` calls
once it has converted its arguments). ``tf.raw_ops`` itself is not used because its
wrappers refuse the attrs they infer (``T``, ``N``, ``SrcT``) as keyword arguments,
while a remote caller may send them, and TF's answer to that is what the case asks.
As the raw-op wrapper would, the attrs TF derives from the inputs and the op-def
defaults of the others are filled in (TF's eager runtime reads them but does not fill
them itself), the caller's own attrs taking precedence. Ops with a ``tensor`` attr
(``Const``) cannot be executed that way (the eager C API sets no tensor attrs), so they
run as a one-op ``tf.function`` built from keyword arguments.

A C++ CHECK failure in TF kills this process; ``run.py`` restarts it after that case.
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2, op_def_pb2, types_pb2
from tensorflow.core.protobuf import error_codes_pb2
from tensorflow.python.eager import context, execute
from tensorflow.python.framework import op_def_library, op_def_registry
from transport import (
    BFLOAT16,
    DTYPE,
    OPAQUE,
    REF,
    Outcome,
    Signature,
    append_record,
    error,
    infer_attrs,
    num_outputs,
    read_cases,
    split_inputs,
)

_OPAQUE_DTYPES = (tf.resource, tf.variant)


def signature(op_def: op_def_pb2.OpDef) -> dict[str, Any]:
    """An op definition as the plain dict ``transport.Signature``."""

    def arg(proto: op_def_pb2.OpDef.ArgDef) -> dict[str, Any]:
        return {
            "name": proto.name,
            "type": tf.as_dtype(proto.type).name if proto.type else "",
            "type_attr": proto.type_attr,
            "number_attr": proto.number_attr,
            "type_list_attr": proto.type_list_attr,
        }

    attrs = {}
    for attr in op_def.attr:
        allowed = [tf.as_dtype(t).name for t in attr.allowed_values.list.type]
        attrs[attr.name] = {
            "type": attr.type,
            "default": _plain(attr.default_value) if attr.HasField("default_value") else None,
            "allowed": allowed or None,
        }
    return {
        "inputs": [arg(a) for a in op_def.input_arg],
        "outputs": [arg(a) for a in op_def.output_arg],
        "attrs": attrs,
        "stateful": op_def.is_stateful,
    }


def _plain(value: attr_value_pb2.AttrValue) -> Any:
    """A default attr value as a plain Python value (None for the kinds not needed)."""
    kind = value.WhichOneof("value")
    if kind in ("i", "f", "b", "s"):
        return getattr(value, kind)
    if kind == "type":
        return tf.as_dtype(value.type).name
    if kind == "list":
        for field in ("i", "f", "b", "s"):
            if getattr(value.list, field):
                return list(getattr(value.list, field))
        if value.list.type:
            return [tf.as_dtype(t).name for t in value.list.type]
        return []
    return None


def as_dtype(name: str) -> tf.DType:
    """A TF dtype from its name (``float32``) or its enum name (``DT_RESOURCE``)."""
    if name.startswith("DT_"):
        return tf.as_dtype(types_pb2.DataType.Value(name))
    return tf.as_dtype(name)


def to_tensor(value: Any, earlier: Mapping[int, Sequence[tf.Tensor]]) -> tf.Tensor:
    """An input of a case as an eager tensor on the CPU."""
    if isinstance(value, dict) and REF in value:
        call, output = value[REF]
        outputs = earlier.get(call)
        if outputs is None or output >= len(outputs):
            raise LookupError(f"output {output} of call {call} does not exist")
        return outputs[output]
    if isinstance(value, dict) and BFLOAT16 in value:
        return tf.bitcast(tf.constant(value[BFLOAT16], dtype=tf.uint16), tf.bfloat16)
    if value.dtype == np.dtype(object):
        return tf.constant(value, dtype=tf.string)
    return tf.constant(value)


def to_attr(value: Any, kind: str) -> Any:
    """A transported attr value in the form the eager C API takes for attr type ``kind``."""
    if isinstance(value, dict) and DTYPE in value:
        return as_dtype(value[DTYPE])
    if kind == "tensor":
        if isinstance(value, dict) and BFLOAT16 in value:
            bits = tf.constant(value[BFLOAT16], dtype=tf.uint16)
            return tf.make_tensor_proto(tf.bitcast(bits, tf.bfloat16))
        return tf.make_tensor_proto(value)
    if isinstance(value, list | tuple):
        return [to_attr(item, kind.removeprefix("list(").removesuffix(")")) for item in value]
    return value


def _inferred(names: Mapping[str, Any]) -> dict[str, Any]:
    """``transport.infer_attrs`` output with dtype names turned into TF dtypes."""
    converted: dict[str, Any] = {}
    for name, value in names.items():
        if isinstance(value, str):
            converted[name] = as_dtype(value)
        elif isinstance(value, list):
            converted[name] = [as_dtype(item) for item in value]
        else:
            converted[name] = value
    return converted


def to_output(tensor: tf.Tensor) -> Any:
    """One output in its transported form."""
    if tensor.dtype in _OPAQUE_DTYPES:
        return {OPAQUE: tensor.dtype.name, "shape": tuple(tensor.shape.as_list())}
    if tensor.dtype == tf.bfloat16:
        return {BFLOAT16: np.asarray(tf.bitcast(tensor, tf.uint16).numpy())}
    value = tensor.numpy()
    if tensor.dtype == tf.string:
        return np.asarray(value, dtype=object)
    return np.asarray(value)


def run_call(
    case: Mapping[str, Any], earlier: Mapping[int, Sequence[tf.Tensor]]
) -> tuple[Outcome, list[tf.Tensor]]:
    """Run one case; its outcome, and its output tensors for later steps of a program."""
    op: str = case["op"]
    try:
        inputs = [to_tensor(value, earlier) for value in case["inputs"]]
    except LookupError as exc:
        return error("SKIPPED", f"an input comes from a failed step: {exc}"), []
    sig = _signature(op)
    if sig is None:
        # Executing it anyway gives TF's own NOT_FOUND answer and message.
        return _execute(op, 1, inputs, {k: to_attr(v, "") for k, v in case["attrs"].items()})
    kinds = {name: spec["type"] for name, spec in sig["attrs"].items()}
    explicit = {name: to_attr(value, kinds.get(name, "")) for name, value in case["attrs"].items()}
    if any(kinds.get(name) == "tensor" for name in explicit):
        return _run_in_graph(op, sig, inputs, case["attrs"], explicit)
    # As the raw-op wrapper does: every attr the caller left out gets its op-def default
    # (the kernels read them, and TF's eager runtime does not fill them in itself).
    attrs = {**_defaults(op),
             **_inferred(infer_attrs(sig, [t.dtype.name for t in inputs], case["attrs"])),
             **explicit}
    # (Checked against the caller's attrs: the op-def default "" is already filled in.)
    if "shared_name" in kinds and not case["attrs"].get("shared_name"):
        # TF 2's Python client gives every eager resource its own anonymous name; without
        # one, all VarHandleOps of a context would share a single variable.
        attrs["shared_name"] = context.anonymous_name()
    # When the count is unknown an attr is missing, and TF says so before it counts.
    count = num_outputs(sig, attrs)
    return _execute(op, 1 if count is None else count, inputs, attrs)


@functools.cache
def _defaults(op: str) -> dict[str, Any]:
    """The op-def defaults of ``op``'s attrs, in the form the eager C API takes."""
    op_def = op_def_registry.get(op)
    defaults = {}
    for attr in op_def.attr if op_def is not None else ():
        if attr.HasField("default_value"):
            value = _c_api_form(attr.default_value)
            if value is not _NO_FORM:
                defaults[attr.name] = value
    return defaults


_NO_FORM = object()


def _c_api_form(value: attr_value_pb2.AttrValue) -> Any:
    kind = value.WhichOneof("value")
    if kind in ("i", "f", "b", "s"):
        return getattr(value, kind)
    if kind == "type":
        return tf.as_dtype(value.type)
    if kind == "shape":
        return _shape(value.shape)
    if kind == "tensor":
        return value.tensor
    if kind == "list":
        if value.list.type:
            return [tf.as_dtype(t) for t in value.list.type]
        if value.list.shape:
            return [_shape(s) for s in value.list.shape]
        for field in ("i", "f", "b", "s"):
            if getattr(value.list, field):
                return list(getattr(value.list, field))
        return []
    return _NO_FORM  # func and placeholder defaults do not occur in the ops run here


def _shape(proto: Any) -> list[int] | None:
    return None if proto.unknown_rank else [d.size for d in proto.dim]


@functools.cache
def _signature(op: str) -> Signature | None:
    op_def = op_def_registry.get(op)
    return None if op_def is None else signature(op_def)


def _execute(
    op: str, count: int, inputs: list[tf.Tensor], attrs: Mapping[str, Any]
) -> tuple[Outcome, list[tf.Tensor]]:
    flat: list[Any] = []
    for name, value in attrs.items():
        flat += [name, value]
    try:
        tensors = execute.execute(op.encode(), count, inputs=inputs, attrs=tuple(flat),
                                  ctx=context.context())
        return {"outputs": [to_output(t) for t in tensors]}, list(tensors)
    except Exception as exc:  # every failure becomes an outcome
        return outcome_of(exc), []


def _run_in_graph(
    op: str, sig: Signature, inputs: list[tf.Tensor], plain: Mapping[str, Any],
    explicit: Mapping[str, Any],
) -> tuple[Outcome, list[tf.Tensor]]:
    kwargs: dict[str, Any] = dict(explicit)
    for arg, start, stop in split_inputs(sig, len(inputs), plain):
        if arg["number_attr"] or arg["type_list_attr"]:
            kwargs[arg["name"]] = inputs[start:stop]
        elif stop > start:
            kwargs[arg["name"]] = inputs[start]

    @tf.function(autograph=False)
    def one_op() -> list[tf.Tensor]:
        return list(op_def_library._apply_op_helper(op, **kwargs)[2].outputs)

    try:
        tensors = one_op()
        return {"outputs": [to_output(t) for t in tensors]}, list(tensors)
    except Exception as exc:  # every failure becomes an outcome
        return outcome_of(exc), []


def outcome_of(exc: BaseException) -> Outcome:
    """The gRPC status TF's worker would answer an exception with."""
    if isinstance(exc, tf.errors.OpError):
        return error(error_codes_pb2.Code.Name(exc.error_code), exc.message)
    if isinstance(exc, TypeError | ValueError):
        # Raised by the Python layer before the op runs (a malformed attr); the remote
        # worker validates the same things in C++ and answers INVALID_ARGUMENT.
        return error("INVALID_ARGUMENT", f"{type(exc).__name__}: {exc}")
    return error("UNKNOWN", f"tf_side: {type(exc).__name__}: {exc}")


def run_cases(cases_path: Path, results_path: Path, start: int) -> None:
    """Run the cases from ``start`` on, appending a result record for each."""
    cases = read_cases(cases_path)
    earlier: dict[int, list[tf.Tensor]] = {}
    program = None
    with results_path.open("ab") as results, tf.device("/CPU:0"):
        for index in range(start, len(cases)):
            case = cases[index]
            if case.get("program") != program:
                earlier.clear()  # refs reach only within one program
                program = case.get("program")
            try:
                outcome, tensors = run_call(case, earlier)
            except Exception as exc:  # a harness bug on one case must not lose the rest
                outcome, tensors = error("UNKNOWN", f"tf_side: {type(exc).__name__}: {exc}"), []
            if program:
                earlier[index] = tensors
            append_record(results, {"index": index, "outcome": outcome})


def write_signatures(ops_path: Path, out_path: Path) -> None:
    """Write ``{"version": ..., "signatures": {op: signature or None}}``."""
    with ops_path.open("rb") as file:
        ops: list[str] = pickle.load(file)
    found = {op: _signature(op) for op in ops}
    with out_path.open("wb") as file:
        pickle.dump({"version": tf.__version__, "signatures": found}, file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sigs = commands.add_parser("signatures", help="write the op definitions of some ops")
    sigs.add_argument("ops", type=Path)
    sigs.add_argument("out", type=Path)
    run = commands.add_parser("run", help="run cases, appending result records")
    run.add_argument("cases", type=Path)
    run.add_argument("results", type=Path)
    run.add_argument("--start", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "signatures":
        write_signatures(args.ops, args.out)
    else:
        run_cases(args.cases, args.results, args.start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
