"""What an op run by the client gives back: how many outputs, and their dtypes, read
from TensorFlow's op definitions (``kernels/op_defs.jsonl``) or a registered function's
signature, before the worker has answered.

An output's dtype is its argument's fixed ``type``, or its ``type_attr`` resolved from
the attrs the caller passed, else from the dtypes of the inputs bound to that attr, else
from the attr's default; None where none of these tells (an input of unknown dtype).

>>> import numpy as np
>>> OpOutputs.of("AddV2", [np.dtype("float32"), np.dtype("float32")], {}).dtypes
(dtype('float32'),)
>>> OpOutputs.of("Shape", [np.dtype("float32")], {}).dtypes
(dtype('int32'),)
>>> OpOutputs.of("Unpack", [np.dtype("int64")], {"num": 3}).dtypes
(dtype('int64'), dtype('int64'), dtype('int64'))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._proto.tensorflow import FunctionDef
from .dtypes import to_numpy
from .errors import InvalidArgumentError
from .kernels.op_defs import MISSING, ArgDef, OpDef, op_def

__all__ = ["OpOutputs", "as_dtype"]

_OBJECT = np.dtype(object)


def as_dtype(value: Any) -> np.dtype | None:
    """``value`` (a NumPy dtype or type, or a TF ``DataType`` number) as a NumPy dtype;
    resources and variants are object arrays. None when it names no dtype we hold.

    >>> as_dtype(np.float32), as_dtype(3)
    (dtype('float32'), dtype('int32'))
    """
    if isinstance(value, np.dtype):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value in (20, 21):  # DT_RESOURCE, DT_VARIANT
            return _OBJECT
        try:
            return to_numpy(value)
        except InvalidArgumentError:
            return None
    try:
        dtype: np.dtype = np.dtype(value)
    except TypeError:
        return None
    return dtype


@dataclass(frozen=True, slots=True)
class OpOutputs:
    """The outputs an op will have: one dtype (or None, unknown) per output."""

    dtypes: tuple[np.dtype | None, ...]

    @classmethod
    def of(
        cls,
        name: str,
        input_dtypes: Sequence[np.dtype | None],
        attrs: Mapping[str, Any],
        functions: Mapping[str, FunctionDef] | None = None,
    ) -> OpOutputs | None:
        """The outputs of op or function ``name`` given its inputs' dtypes and its attrs;
        None when their number cannot be told (an op TensorFlow does not define, a list
        output whose length depends on an attr left out)."""
        function = (functions or {}).get(name)
        if function is not None:
            return cls._of_function(function)
        definition = op_def(name)
        if definition is None:
            return None
        bound = _bind(definition, input_dtypes, attrs)
        dtypes: list[np.dtype | None] = []
        for arg in definition.outputs:
            if arg.type_list_attr:
                listed = bound.get(arg.type_list_attr)
                if not isinstance(listed, list | tuple):
                    return None
                dtypes += [as_dtype(d) for d in listed]
                continue
            dtype = arg.dtype if arg.dtype is not None or not arg.type_attr else (
                as_dtype(bound.get(arg.type_attr)))
            if arg.number_attr:
                count = bound.get(arg.number_attr)
                if not isinstance(count, int):
                    return None
                dtypes += [dtype] * count
            else:
                dtypes.append(dtype)
        return cls(tuple(dtypes))

    @classmethod
    def _of_function(cls, function: FunctionDef) -> OpOutputs:
        signature = function.signature
        outputs = [] if signature is None else signature.output_arg
        return cls(tuple(as_dtype(int(arg.type)) if arg.type else None for arg in outputs))


def _bind(
    definition: OpDef, input_dtypes: Sequence[np.dtype | None], attrs: Mapping[str, Any]
) -> dict[str, Any]:
    """The op's attrs: the caller's, then what its inputs imply, then the defaults."""
    bound: dict[str, Any] = dict(attrs)
    lists = [arg for arg in definition.inputs if arg.is_list]
    fixed = len(definition.inputs) - len(lists)
    # With one list argument its length is what the other inputs leave; with several
    # (rare: ops a client calls through functions) the attrs must say.
    spare = len(input_dtypes) - fixed
    position = 0
    for arg in definition.inputs:
        length = _length(arg, bound, spare if len(lists) == 1 else None)
        if length is None:
            break
        taken = list(input_dtypes[position : position + length])
        position += length
        if arg.number_attr:
            bound.setdefault(arg.number_attr, length)
        if arg.type_list_attr and None not in taken:
            bound.setdefault(arg.type_list_attr, taken)
        elif arg.type_attr and taken and taken[0] is not None:
            bound.setdefault(arg.type_attr, taken[0])
    for attr in definition.attrs.values():
        if attr.default is not MISSING:
            bound.setdefault(attr.name, attr.default)
    return bound


def _length(arg: ArgDef, bound: Mapping[str, Any], spare: int | None) -> int | None:
    if not arg.is_list:
        return 1
    if arg.number_attr and isinstance(bound.get(arg.number_attr), int):
        return int(bound[arg.number_attr])
    if arg.type_list_attr and isinstance(bound.get(arg.type_list_attr), list | tuple):
        return len(bound[arg.type_list_attr])
    return spare
