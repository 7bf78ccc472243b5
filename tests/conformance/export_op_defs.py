"""Write TensorFlow 2.21's op definitions, as data, to ``eager_async/kernels/op_defs.jsonl``.

Run with the TF venv's Python (``make op-defs``); eager_async never imports TensorFlow.

    .venv-tf/bin/python tests/conformance/export_op_defs.py eager_async/kernels/op_defs.jsonl

One JSON object per op, sorted by name, with the facts the registry checks: input and
output arguments (fixed type, type attr, number attr, type-list attr), attrs (type,
default, allowed values, minimum), whether the op is stateful, and the type constraints
of every CPU kernel TF registers for it (``cpu``: a list of {attr: [types]}, ``[{}]`` for
one unconstrained kernel, ``[]`` for none). Descriptions are left out.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tensorflow.core.framework import op_def_pb2, types_pb2
from tensorflow.python.client import pywrap_tf_session
from tensorflow.python.framework import kernels, tensor_util


def _type(value: int) -> str:
    return str(types_pb2.DataType.Name(value))


def _attr_value(value: Any, attr_type: str) -> Any:
    """An AttrValue as JSON: types by enum name, shapes as dim lists (None: unknown rank)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "list":
        items = value.list
        for field in ("s", "i", "f", "b", "type", "shape", "tensor", "func"):
            if getattr(items, field):
                return [_scalar(field, item) for item in getattr(items, field)]
        return []
    return _scalar(kind, getattr(value, kind))


def _scalar(kind: str, item: Any) -> Any:
    if kind == "s":
        return item.decode("latin-1")
    if kind == "type":
        return _type(item)
    if kind == "shape":
        return None if item.unknown_rank else [d.size for d in item.dim]
    if kind == "tensor":
        return tensor_util.MakeNdarray(item).tolist()
    if kind == "func":
        return {"func": item.name}
    return item


def _arg(arg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": arg.name}
    if arg.type:
        out["type"] = _type(arg.type)
    for field in ("type_attr", "number_attr", "type_list_attr"):
        if getattr(arg, field):
            out[field] = getattr(arg, field)
    if arg.is_ref:
        out["is_ref"] = True
    return out


def _attr(attr: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": attr.name, "type": attr.type}
    if attr.HasField("default_value"):
        out["default"] = _attr_value(attr.default_value, attr.type)
    if attr.HasField("allowed_values"):
        out["allowed"] = _attr_value(attr.allowed_values, attr.type)
    if attr.has_minimum:
        out["minimum"] = attr.minimum
    return out


def _cpu_kernels(name: str) -> list[dict[str, list[str]]]:
    """The type constraints of the op's CPU kernels (a DEFAULT kernel serves the CPU too).
    Kernels that differ in one attr's types only are merged, attr by attr."""
    entries: list[dict[str, frozenset[str]]] = []
    for kernel in kernels.get_registered_kernels_for_op(name).kernel:
        if kernel.device_type in ("CPU", "DEFAULT"):
            entries.append({
                c.name: frozenset(_type(t) for t in c.allowed_values.list.type)
                for c in kernel.constraint
                if c.allowed_values.list.type  # constraints on string attrs are not types
            })
    for attr in sorted({a for entry in entries for a in entry}):
        merged: dict[Any, dict[str, frozenset[str]]] = {}
        for entry in entries:
            rest = tuple(sorted((a, v) for a, v in entry.items() if a != attr))
            key = (attr in entry, rest)
            if key in merged and attr in entry:
                merged[key] = {**merged[key], attr: merged[key][attr] | entry[attr]}
            else:
                merged.setdefault(key, entry)
        entries = list(merged.values())
    found = [{a: sorted(v) for a, v in sorted(entry.items())} for entry in entries]
    return sorted(found, key=lambda k: json.dumps(k, sort_keys=True))


def main(path: str) -> int:
    ops = op_def_pb2.OpList()
    ops.ParseFromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
    lines = []
    for op in sorted(ops.op, key=lambda o: o.name):
        record: dict[str, Any] = {
            "name": op.name,
            "inputs": [_arg(a) for a in op.input_arg],
            "outputs": [_arg(a) for a in op.output_arg],
            "attrs": [_attr(a) for a in op.attr],
        }
        if op.is_stateful:
            record["stateful"] = True
        record["cpu"] = _cpu_kernels(op.name)
        lines.append(json.dumps(record, separators=(",", ":")))
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} op definitions to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
