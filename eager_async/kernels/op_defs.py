"""TensorFlow 2.21's op definitions, as data: what every op takes, gives and allows.

``op_defs.jsonl`` beside this module is exported from TensorFlow itself
(``make op-defs``); these are facts like field numbers. Each line is parsed the first time
its op is asked for.

>>> concat = op_def("ConcatV2")
>>> [arg.name for arg in concat.inputs], concat.attrs["N"].minimum
(['values', 'axis'], 2)
>>> concat.attrs["Tidx"].default
dtype('int32')
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..dtypes import DataType, to_numpy
from ..errors import InvalidArgumentError

__all__ = ["MISSING", "ArgDef", "AttrDef", "OpDef", "op_def", "op_dtype"]

_PATH = Path(__file__).with_name("op_defs.jsonl")

OBJECT = np.dtype(object)
# Resources and variants are Python objects in 0-d object arrays, as strings are.
_OBJECT_TYPES = {DataType.DT_RESOURCE, DataType.DT_VARIANT}


class _Missing:
    """The default of an attr that has none: the caller must set it."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def op_dtype(name: str) -> np.dtype | None:
    """The NumPy dtype of TF type ``name`` (``DT_FLOAT``); resources and variants are
    object arrays; None for types eager_async cannot hold (quantized, float8, refs).

    >>> op_dtype("DT_RESOURCE"), op_dtype("DT_QINT8")
    (dtype('O'), None)
    """
    dtype = DataType.from_string(name)
    if dtype in _OBJECT_TYPES:
        return OBJECT
    try:
        return to_numpy(dtype)
    except InvalidArgumentError:
        return None


@dataclass(frozen=True, slots=True)
class ArgDef:
    """One input or output argument: a fixed ``dtype`` (TF's ``type_name`` for it, as
    ``resource``), or the attr naming its type
    (``type_attr``), its length (``number_attr``) or its list of types
    (``type_list_attr``)."""

    name: str
    dtype: np.dtype | None = None
    type_name: str = ""
    type_attr: str = ""
    number_attr: str = ""
    type_list_attr: str = ""

    @property
    def is_list(self) -> bool:
        """Whether the argument is a list of tensors."""
        return bool(self.number_attr or self.type_list_attr)


@dataclass(frozen=True, slots=True)
class AttrDef:
    """One attr: its TF type (``int``, ``list(type)``, ...), default (``MISSING`` when the
    caller must set it), allowed values (``allowed_text``: as TF lists them in messages,
    in op-def order), and minimum (a list's length, or an int)."""

    name: str
    type: str
    default: Any = MISSING
    allowed: frozenset[Any] | None = None
    allowed_text: str = ""
    minimum: int | None = None


@dataclass(frozen=True, slots=True)
class OpDef:
    """One op's definition. ``cpu_kernels``: the type constraints of each CPU kernel TF
    registers for the op (an empty tuple: TF has no CPU kernel for it).
    ``string_types``: the type attrs whose only object type TF's CPU kernels take is
    DT_STRING (ScatterNd's ``T``): an object array there must hold bytes, where NumPy
    dtypes cannot tell a string from a resource or a variant."""

    name: str
    inputs: tuple[ArgDef, ...]
    outputs: tuple[ArgDef, ...]
    attrs: Mapping[str, AttrDef]
    stateful: bool
    cpu_kernels: tuple[Mapping[str, frozenset[np.dtype]], ...]
    string_types: frozenset[str] = frozenset()


@functools.cache
def _lines() -> dict[str, str]:
    lines: dict[str, str] = {}
    with _PATH.open(encoding="utf-8") as data:
        for line in data:
            # Each line starts {"name":"<op>",... : index it without parsing it.
            name = line[9 : line.index('"', 9)]
            lines[name] = line
    return lines


@functools.cache
def op_def(name: str) -> OpDef | None:
    """TF's definition of op ``name``; None when TensorFlow has no such op."""
    line = _lines().get(name)
    if line is None:
        return None
    raw = json.loads(line)
    attrs = {a["name"]: _attr(a) for a in raw["attrs"]}
    return OpDef(
        name=name,
        inputs=tuple(_arg(a) for a in raw["inputs"]),
        outputs=tuple(_arg(a) for a in raw["outputs"]),
        attrs=attrs,
        stateful=bool(raw.get("stateful")),
        cpu_kernels=tuple(
            {attr: _types(types) for attr, types in kernel.items()} for kernel in raw["cpu"]
        ),
        string_types=frozenset(
            a["name"] for a in raw["attrs"]
            if a["type"] == "type" and _object_types(a, raw["cpu"]) == {"DT_STRING"}
        ),
    )


_OBJECT_NAMES = frozenset({"DT_STRING", "DT_RESOURCE", "DT_VARIANT"})


def _object_types(attr: Mapping[str, Any], cpu: list[dict[str, list[str]]]) -> set[str]:
    """The object types (string, resource, variant) a type attr may take on CPU."""
    allowed = attr.get("allowed")
    taken: set[str] = set()
    for kernel in cpu or [{}]:
        names = kernel.get(attr["name"], allowed)
        if names is None:  # any type
            return set(_OBJECT_NAMES)
        taken |= _OBJECT_NAMES.intersection(names)
    return taken


def _types(names: list[str]) -> frozenset[np.dtype]:
    return frozenset(d for d in map(op_dtype, names) if d is not None)


def _arg(raw: Mapping[str, Any]) -> ArgDef:
    fixed = raw.get("type")
    return ArgDef(
        name=raw["name"],
        dtype=op_dtype(fixed) if fixed else None,
        type_name=fixed.removeprefix("DT_").lower() if fixed else "",
        type_attr=raw.get("type_attr", ""),
        number_attr=raw.get("number_attr", ""),
        type_list_attr=raw.get("type_list_attr", ""),
    )


def _attr(raw: Mapping[str, Any]) -> AttrDef:
    kind = raw["type"]
    allowed = raw.get("allowed")
    return AttrDef(
        name=raw["name"],
        type=kind,
        default=_value(kind, raw["default"]) if "default" in raw else MISSING,
        allowed=None if allowed is None else frozenset(_allowed(kind, allowed)),
        allowed_text="" if allowed is None else _allowed_text(kind, allowed),
        minimum=raw.get("minimum"),
    )


def _allowed_text(kind: str, values: list[Any]) -> str:
    """TF's own listing: type names without ``DT_`` (``int32, int64``), strings quoted."""
    if kind.removeprefix("list(").removesuffix(")") == "type":
        return ", ".join(name.removeprefix("DT_").lower() for name in values)
    return ", ".join(f'"{value}"' for value in values)


def _allowed(kind: str, values: list[Any]) -> list[Any]:
    element = kind.removeprefix("list(").removesuffix(")")
    if element == "type":
        return [d for d in map(op_dtype, values) if d is not None]
    return [_value(element, v) for v in values]


def _value(kind: str, value: Any) -> Any:
    """A default from the JSON as the Python value attrs decode to (see ``attrs``)."""
    if kind.startswith("list("):
        element = kind[5:-1]
        return [_value(element, v) for v in value or []]
    if value is None:
        return None
    if kind == "type":
        return op_dtype(value)
    if kind == "string":
        return value.encode("latin-1")
    if kind == "shape":
        return tuple(value)
    if kind == "float":
        return float(value)
    if kind == "tensor":
        return np.asarray(value)
    return value
