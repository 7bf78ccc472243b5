"""The op contract: a call's inputs and attrs checked against TF's op definition, once,
for every op, with TensorFlow's statuses.

``bind`` answers how the flat inputs split into the op's arguments, the complete attrs
(defaults filled, type and number attrs taken from the inputs, which win over what the
caller wrote, as in TF's eager runtime), and the output dtypes. It raises
INVALID_ARGUMENT for a wrong arity, dtype or attr (every attr the caller sets is checked
against its op-def type, as ``eager_async.attrs`` decodes each kind, and against its
allowed values and minimum), NOT_FOUND where TF defines the op for a dtype but has no CPU
kernel for it, and RESOURCE_EXHAUSTED for more outputs than ``MAX_OUTPUTS``. Since
object arrays carry strings, resources and variants alike, the binding also names the
inputs that must hold strings, for ``Binding.check_strings`` to look at their elements.

>>> f32, i32 = np.dtype("float32"), np.dtype("int32")
>>> binding = bind(op_def("ConcatV2"), [f32, f32, i32], {})
>>> binding.groups, binding.attrs["N"], binding.out_dtypes
((slice(0, 2, None), 2), 2, (dtype('float32'),))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..attrs import FuncAttr
from ..dtypes import DataType
from ..errors import (
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnimplementedError,
)
from ._checks import tf_name, type_names
from .op_defs import MISSING, OBJECT, ArgDef, AttrDef, OpDef, op_def

__all__ = ["MAX_OUTPUTS", "Binding", "bind", "op_def"]

_OBJECT_TYPES = (DataType.DT_RESOURCE, DataType.DT_VARIANT)

Group = int | slice
"""Where an argument's tensors are among the flat inputs: one index, or a slice (a list)."""


@dataclass(frozen=True, slots=True)
class Binding:
    """A checked call: ``groups`` (one per input argument), the complete ``attrs``, the
    dtype of every output tensor and how many tensors each output argument has
    (None for a single tensor)."""

    groups: tuple[Group, ...]
    attrs: Mapping[str, Any]
    out_dtypes: tuple[np.dtype, ...]
    out_counts: tuple[int | None, ...]
    # The flat positions of DT_STRING inputs: object arrays carry strings, resources and
    # variants alike, so only their elements tell them apart (see ``check_strings``).
    strings: tuple[int, ...] = ()
    # Kernel keyword arguments by the attr names asked for (see ``kwargs``).
    _kwargs: dict[tuple[str, ...], dict[str, Any]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def flat(self) -> bool:
        """Whether every input argument is one tensor (the inputs need no grouping)."""
        return all(isinstance(g, int) for g in self.groups)

    def split(self, flat: Sequence[Any]) -> list[Any]:
        """The inputs grouped by argument (a list for a list argument)."""
        return [flat[g] if isinstance(g, int) else list(flat[g]) for g in self.groups]

    def check_strings(self, op: str, inputs: Sequence[np.ndarray]) -> None:
        """INVALID_ARGUMENT, as TF's dtype check, where a DT_STRING input holds a
        resource or variant (a handle some op made) instead of bytes."""
        for index in self.strings:
            array = inputs[index]
            wrong = next((v for v in array.flat if not isinstance(v, bytes)), None)
            if wrong is not None:
                raise InvalidArgumentError(
                    f"cannot compute {op} as input #{index}(zero-based) was expected to be a "
                    f"string tensor but holds a {type(wrong).__name__} (a resource or "
                    "variant) instead of strings"
                )

    def kwargs(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The attrs ``names`` asks for, as keyword arguments (computed once per binding;
        callers must not change the dict)."""
        found = self._kwargs.get(names)
        if found is None:
            found = self._kwargs[names] = {name: self.attrs[name] for name in names}
        return found


def bind(definition: OpDef, dtypes: Sequence[np.dtype], attrs: Mapping[str, Any]) -> Binding:
    """Check a call of ``definition`` with inputs of ``dtypes``; see the module doc."""
    op = definition.name
    complete = {a.name: a.default for a in definition.attrs.values()}
    complete.update((k, v) for k, v in attrs.items() if k in definition.attrs)
    sizes = _sizes(definition, len(dtypes), complete)
    groups: list[Group] = []
    inferred: dict[str, Any] = {}
    start = 0
    for arg, size in zip(definition.inputs, sizes, strict=True):
        if arg.is_list:
            groups.append(slice(start, start + size))
        else:
            groups.append(start)
        _check_arg(op, arg, dtypes[start : start + size], start, inferred)
        start += size
    for arg in definition.inputs:
        given = attrs.get(arg.type_list_attr) if arg.type_list_attr else None
        if isinstance(given, list):  # resources and variants are object arrays here
            given = [OBJECT if t in _OBJECT_TYPES else t for t in given]
        if isinstance(given, list) and given != inferred[arg.type_list_attr]:
            raise InvalidArgumentError(
                f"{op}: attr '{arg.type_list_attr}' is {_shown(given)} but the inputs are "
                f"{_shown(inferred[arg.type_list_attr])}"
            )
    complete.update(inferred)
    for attr in definition.attrs.values():
        complete[attr.name] = _check_attr(op, attr, complete[attr.name])
    strings: list[int] = []
    start = 0
    for arg, size in zip(definition.inputs, sizes, strict=True):
        if _holds_strings(definition, arg, complete):
            strings += range(start, start + size)
        start += size
    _check_kernel(definition, complete)
    out_dtypes: list[np.dtype] = []
    out_counts: list[int | None] = []
    for arg in definition.outputs:
        types = _output_types(op, arg, complete)
        out_dtypes += types
        out_counts.append(len(types) if arg.is_list else None)
    return Binding(
        tuple(groups), complete, tuple(out_dtypes), tuple(out_counts), tuple(strings)
    )


def _sizes(definition: OpDef, count: int, attrs: Mapping[str, Any]) -> list[int]:
    """How many tensors each input argument takes; at most one unknown list length is
    inferred from the input count."""
    sizes: list[int | None] = []
    for arg in definition.inputs:
        if arg.number_attr:
            n = attrs.get(arg.number_attr, MISSING)
            sizes.append(n if isinstance(n, int) and not isinstance(n, bool) else None)
        elif arg.type_list_attr:
            types = attrs.get(arg.type_list_attr, MISSING)
            sizes.append(len(types) if isinstance(types, list | tuple) else None)
        else:
            sizes.append(1)
    unknown = [i for i, n in enumerate(sizes) if n is None]
    known = sum(n for n in sizes if n is not None)
    if len(unknown) == 1:
        sizes[unknown[0]] = max(count - known, 0)
    elif unknown:
        names = ", ".join(definition.inputs[i].name for i in unknown)
        raise InvalidArgumentError(
            f"{definition.name}: set the length attrs of the list inputs {names}; the input "
            "count alone does not say how the inputs split"
        )
    fixed = [n for n in sizes if n is not None]
    if sum(fixed) != count:
        raise InvalidArgumentError(
            f"NodeDef expected inputs '{_expected(definition, fixed, attrs)}' do not match "
            f"{count} inputs specified; {signature(definition)}"
        )
    return fixed


def signature(definition: OpDef) -> str:
    """The op as TF prints it in errors: ``Op<name=AddV2; signature=x:T, y:T -> z:T>``."""

    def args(arguments: Sequence[ArgDef]) -> str:
        return ", ".join(f"{arg.name}:{_arg_type(arg)}" for arg in arguments)

    return (
        f"Op<name={definition.name}; signature={args(definition.inputs)} -> "
        f"{args(definition.outputs)}>"
    )


def _arg_type(arg: ArgDef) -> str:
    kind = arg.type_name or arg.type_attr or arg.type_list_attr
    return f"{arg.number_attr}*{kind}" if arg.number_attr else kind


def _expected(definition: OpDef, sizes: Sequence[int], attrs: Mapping[str, Any]) -> str:
    names = []
    for arg, size in zip(definition.inputs, sizes, strict=True):
        known = arg.dtype if arg.dtype is not None else attrs.get(arg.type_attr)
        name = tf_name(known) if isinstance(known, np.dtype) else _arg_type(arg)
        # A hostile length attr (N = 2**62) must not become a string of that many names.
        names += [name] * size if size <= _SHOWN_NAMES else [f"{size} x {name}"]
    return ", ".join(names)


_SHOWN_NAMES = 16


def _holds_strings(definition: OpDef, arg: ArgDef, attrs: Mapping[str, Any]) -> bool:
    """Whether the argument's object arrays can only be DT_STRING tensors: a string
    argument, or an object one of a type attr that takes no resource or variant
    (``OpDef.string_types``)."""
    if arg.type_name == "string":
        return True
    return arg.type_attr in definition.string_types and attrs[arg.type_attr] == OBJECT


def _check_arg(
    op: str, arg: ArgDef, dtypes: Sequence[np.dtype], start: int, inferred: dict[str, Any]
) -> None:
    if arg.type_list_attr:
        inferred[arg.type_list_attr] = list(dtypes)
        return
    if arg.number_attr:
        inferred[arg.number_attr] = len(dtypes)
    for offset, dtype in enumerate(dtypes):
        want = arg.dtype if arg.dtype is not None else inferred.get(arg.type_attr)
        if want is None:
            inferred[arg.type_attr] = dtype
        elif dtype != want:
            shown = arg.type_name or tf_name(want)
            raise InvalidArgumentError(
                f"cannot compute {op} as input #{start + offset}(zero-based) was expected "
                f"to be a {shown} tensor but is a {tf_name(dtype)} tensor"
            )


_SCALAR_KINDS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "string": (bytes,),
    "shape": (tuple, type(None)),
    "tensor": (np.ndarray,),
    "func": (FuncAttr,),
}


def _check_attr(op: str, attr: AttrDef, value: Any) -> Any:
    """The attr's value, checked for kind, allowed values and minimum; type attrs become
    NumPy dtypes."""
    if value is MISSING:
        raise InvalidArgumentError(
            f"NodeDef missing attr '{attr.name}' from {signature(lookup_def(op))}: the request "
            f"must set attr '{attr.name}' ({attr.type})"
        )
    kind = attr.type
    if kind.startswith("list("):
        if not isinstance(value, list | tuple):
            raise _kind_error(op, attr, value)
        value = [_check_scalar(op, attr, kind[5:-1], v, whole=value) for v in value]
        if attr.minimum is not None and len(value) < attr.minimum:
            raise InvalidArgumentError(
                f"Length for attr '{attr.name}' of {len(value)} must be at least minimum "
                f"{attr.minimum}\n\t; NodeDef: {{{{node {op}}}}}"
            )
        return value
    value = _check_scalar(op, attr, kind, value)
    if kind == "int" and attr.minimum is not None and value < attr.minimum:
        raise InvalidArgumentError(
            f"Value for attr '{attr.name}' of {value} must be at least minimum "
            f"{attr.minimum}\n\t; NodeDef: {{{{node {op}}}}}"
        )
    return value


def _check_scalar(op: str, attr: AttrDef, kind: str, value: Any, whole: Any = None) -> Any:
    """One value of kind ``kind`` (an element of the list ``whole``, which a kind error
    then shows)."""
    if kind == "type":
        value = _as_dtype(op, attr, value, whole)
    elif kind in _SCALAR_KINDS:
        ok = isinstance(value, _SCALAR_KINDS[kind])
        if kind in ("int", "float") and isinstance(value, bool | DataType):
            ok = False  # both are ints to Python
        if not ok:
            raise _kind_error(op, attr, value if whole is None else whole)
        if kind == "float":
            value = float(value)
        elif kind == "shape" and value is not None:
            _check_shape(op, attr, value)
    if attr.allowed is not None and value not in attr.allowed:
        if kind == "type":
            raise InvalidArgumentError(
                f"Value for attr '{attr.name}' of {tf_name(value)} is not in the list of "
                f"allowed values: {attr.allowed_text}\n\t; NodeDef: {{{{node {op}}}}}"
            )
        got = value.decode(errors="replace") if isinstance(value, bytes) else value
        raise InvalidArgumentError(
            f"Value for attr '{attr.name}' of \"{got}\" is not in the list of allowed "
            f"values: {attr.allowed_text}\n\t; NodeDef: {{{{node {op}}}}}"
        )
    return value


def _check_shape(op: str, attr: AttrDef, dims: tuple[Any, ...]) -> None:
    """A shape attr's dims: ints, each -1 (unknown) or more, as TF's ``IsValidShape``."""
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in dims):
        shown = "[" + ",".join(map(str, dims)) + "]"
        raise InvalidArgumentError(
            f"Shape {shown} has dimensions with values below -1 (where -1 means unknown) "
            f"for attr '{attr.name}' of {op}"
        )


def _as_dtype(op: str, attr: AttrDef, value: Any, whole: Any) -> np.dtype:
    if isinstance(value, np.dtype):
        return value
    if not isinstance(value, DataType):
        raise _kind_error(op, attr, value if whole is None else whole)
    # Variants (a list's element_dtype of nested lists, a dataset's components) and, in a
    # list of types (a function's outputs), resources are object arrays here. A single
    # type attr asking for a resource (Cast to DT_RESOURCE) would make a tensor of no
    # meaning.
    if value == DataType.DT_VARIANT or (whole is not None and value == DataType.DT_RESOURCE):
        return OBJECT
    raise UnimplementedError(
        f"{op}: attr '{attr.name}' is {value.name}, a dtype eager_async cannot make tensors of"
    )


def _kind_error(op: str, attr: AttrDef, value: Any) -> InvalidArgumentError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidArgumentError(
        f"AttrValue had value with type '{_kind_of(value)}' when '{attr.type}' expected for "
        f"attr '{attr.name}' of {op} (got {shown})"
    )


# The attr kind each Python type decodes from (see ``eager_async.attrs``); bool and
# DataType before int, as both are ints to Python.
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "bool"),
    ((np.dtype, DataType), "type"),
    (int, "int"),
    (float, "float"),
    (bytes, "string"),
    ((tuple, type(None)), "shape"),
    (np.ndarray, "tensor"),
    (FuncAttr, "func"),
)


def _kind_of(value: Any) -> str:
    """TF's name for the kind of attr ``value`` decodes from (``list(int)``, ``string``)."""
    if isinstance(value, list):
        return f"list({_kind_of(value[0])})" if value else "list"
    return next((kind for types, kind in _KINDS if isinstance(value, types)),
                type(value).__name__)  # fmt: skip


def _check_kernel(definition: OpDef, attrs: Mapping[str, Any]) -> None:
    """NOT_FOUND where TF defines the op for these types but registers no CPU kernel."""
    kernels = definition.cpu_kernels
    for constraints in kernels:
        if all(_satisfies(attrs.get(name), types) for name, types in constraints.items()):
            return
    if not kernels:
        raise NotFoundError(
            f"TensorFlow has no CPU kernel for {definition.name}, so neither does eager_async"
        )
    names = sorted({name for constraints in kernels for name in constraints})
    shown = ", ".join(f"{name}={_shown(attrs.get(name))}" for name in names)
    takes = "; ".join(
        ", ".join(f"{name} in [{type_names(types)}]" for name, types in sorted(k.items()))
        for k in kernels
    )
    raise NotFoundError(
        f"Could not find a CPU kernel for {definition.name} with {shown}; TensorFlow's CPU "
        f"kernels take {takes}: Cast the input to one of them"
    )


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(_shown, value)) + "]"
    return tf_name(value) if isinstance(value, np.dtype) else repr(value)


def _satisfies(value: Any, types: frozenset[np.dtype]) -> bool:
    if isinstance(value, list):
        return all(v in types for v in value)
    return value in types


MAX_OUTPUTS = 1 << 16
"""The most tensors one op call may give: a length attr (Split's ``num_split``) is refused
above it before any list of that length is made."""


def _output_types(op: str, arg: ArgDef, attrs: Mapping[str, Any]) -> list[np.dtype]:
    if arg.type_list_attr:
        return list(attrs[arg.type_list_attr])
    dtype = arg.dtype if arg.dtype is not None else attrs[arg.type_attr]
    count = attrs[arg.number_attr] if arg.number_attr else 1
    if count > MAX_OUTPUTS:
        raise ResourceExhaustedError(
            f"{op}: attr '{arg.number_attr}' of {count} asks for more outputs than the "
            f"{MAX_OUTPUTS} a worker makes for one op"
        )
    return [dtype] * count


def lookup_def(name: str) -> OpDef:
    """TF's definition of ``name``; NOT_FOUND when TensorFlow has no such op."""
    definition = op_def(name)
    if definition is None:
        raise NotFoundError(f"Op type not registered '{name}' on this eager_async worker")
    return definition
