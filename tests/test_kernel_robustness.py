"""Every registered op under hostile calls: whatever a client sends, an op answers with
an ``EagerError`` (a status naming what is wrong), never a bare Python exception, which
the service could only report as INTERNAL, a bug of ours.

For each op, seeded-random calls drawn from its op definition (dtypes its CPU kernels
take, shapes of rank 0-4 with 0-size dims, mismatched shapes, int inputs that are
axes, shapes or indices, hostile attrs: wrong kinds, negative and huge ints, empty
lists, strings that are not UTF-8) and mutations of its records' valid calls
(``tests/test_kernels_*.py``) go through ``shapes`` and ``run`` as the runtime calls
them. An output the shape rule promises bigger than ``_MAX_ELEMENTS`` is not made, as
the worker's memory quota would refuse it. Where both answer, the kernel's outputs
must fit the shapes the rule inferred.

Reproducible: the draws of an op depend only on its name (and, to hunt further by hand,
on ``EAGER_ASYNC_FUZZ_SALT``: ``EAGER_ASYNC_FUZZ_SALT=7 pytest tests/test_kernel_robustness.py``
draws other calls).
"""

from __future__ import annotations

import copy
import functools
import math
import os
import random
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from kernel_records import Case, compatible, lookup
from test_kernel_tables import tables

from eager_async.attrs import FuncAttr
from eager_async.dtypes import DataType
from eager_async.errors import EagerError
from eager_async.kernels import TensorSpec, registered_ops
from eager_async.kernels.data.datasets import Dataset
from eager_async.kernels.data.optional_ops import Optional
from eager_async.kernels.list_ops.tensor_list import TensorList
from eager_async.kernels.op_defs import MISSING, OBJECT, ArgDef, AttrDef, OpDef
from eager_async.kernels.registry import lookup as registered
from eager_async.kernels.variables import Variable

SKIPPED = {
    "_Recv": "waits for the matching _Send, as TF's does, until its context closes",
    "_HostRecv": "waits for the matching _HostSend, as TF's does, until its context closes",
}
"""Ops not called at all, with the reason. Every other op that needs its context runs
with a context-free ``OpEnv`` (``kernel_records.lookup``): no functions but its records'
ones, no file access (the checkpoint ops refuse), a rendezvous of its own."""

_LOOPS = frozenset({"While", "StatelessWhile"})
"""Ops called without their records' functions (NOT_FOUND), as a call of them with
hostile inputs may loop as long as it would in TF."""

_UNCHECKED_SHAPES = {
    "TensorListGetItem": "its rule answers the element_shape input, as TF's shape function "
    "does, and its kernel the item as stored, as TF's kernel does",
}
"""Ops whose outputs may not fit what their rule inferred, with the reason."""

_CASES_PER_OP = 48
_MUTATIONS_PER_RECORD = 10
_MAX_ELEMENTS = 1 << 16
"""The largest output (in elements) a call may make; a bigger one is refused by the
worker's memory quota from the shape rule, before the kernel runs."""

_BF16 = np.dtype(ml_dtypes.bfloat16)
_INDEX = (np.dtype(np.int32), np.dtype(np.int64))
_ALL_TYPES = tuple(
    np.dtype(t)
    for t in (np.float16, _BF16, np.float32, np.float64, np.int8, np.int16, np.int32,
              np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.complex64,
              np.complex128, np.bool_, object)
)  # fmt: skip
_STRINGS = (b"", b"a", b"abc", b"\xff\xfe", b"1.5", b"-3", b"%s %d", b"{}", b"NHWC",
            b"SAME", b"a,b", b"\x00", "é".encode())  # fmt: skip
_HOSTILE_STRINGS = (b"\xff", b"\xc3", b"\xff\xfeNHWC", b"", b"nonsense", b"x" * 300)
_HOSTILE_INTS = (-1, -2, 0, 1 << 31, -(1 << 31) - 1, (1 << 63) - 1, -(1 << 63), 100_000)
_HOSTILE_FLOATS = (float("nan"), float("inf"), float("-inf"), -1.0, 0.0, 1e38, 1e-45)


@dataclass
class Draw:
    """One op's random sources, and the functions its records register."""

    rng: random.Random
    functions: tuple[str, ...] = ()
    arrays: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.arrays = np.random.default_rng(self.rng.getrandbits(32))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, items: Sequence[Any]) -> Any:
        return items[self.rng.randrange(len(items))]


# --- inputs -------------------------------------------------------------------------------


def _shape(draw: Draw, base: tuple[int, ...]) -> tuple[int, ...]:
    """Mostly the call's base shape; else broadcastable to it, or anything small."""
    roll = draw.rng.random()
    if roll < 0.55:
        return base
    if roll < 0.75 and base:
        return tuple(1 if draw.chance(0.5) else d for d in base)[draw.rng.randrange(len(base)):]
    rank = draw.rng.randrange(5)
    return tuple(draw.pick((0, 1, 1, 2, 2, 3)) for _ in range(rank))


def _index_shape(draw: Draw, base: tuple[int, ...]) -> tuple[int, ...]:
    """Int inputs are mostly axes, shapes, sizes or indices: scalars and short vectors."""
    roll = draw.rng.random()
    if roll < 0.35:
        return ()
    if roll < 0.8:
        return (draw.rng.randrange(5),)
    return _shape(draw, base)


def _values(draw: Draw, dtype: np.dtype, shape: tuple[int, ...], *, index: bool = False
            ) -> np.ndarray:  # fmt: skip
    size = math.prod(shape)
    rng = draw.arrays
    if dtype == OBJECT:
        flat = [draw.pick(_STRINGS) for _ in range(size)]
        out = np.empty(size, dtype=object)
        out[:] = flat
        return out.reshape(shape)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if draw.chance(0.1):  # the dtype's extremes
            return rng.choice(np.array([info.min, info.max, 0], dtype), size=shape)
        if index and size and draw.chance(0.06):  # an empty shape with huge dims
            return np.resize(np.array([0, info.max, info.max // 2, 3], dtype), shape)
        low = 0 if dtype.kind == "u" else -2
        values = rng.integers(low, 5 if index else 6, size=shape)
        if draw.chance(0.05):
            values = values * 1_000_003
        return values.astype(dtype)
    values = rng.standard_normal(shape) * 3
    if draw.chance(0.15) and size:
        values.ravel()[rng.integers(0, size)] = draw.pick(_HOSTILE_FLOATS)
    if dtype.kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)  # the caller ignores NumPy's warnings


def _handle(draw: Draw, dtype: np.dtype, base: tuple[int, ...], kind: str) -> np.ndarray:
    """A resource or variant input (``kind``): an object some op made, right for this
    op or not; mostly a variable of the op's dtype holding a value of the call's base
    shape, or a list or dataset of that dtype."""
    if draw.chance(0.8):
        makers = {"variant": _VARIANTS, "resource": (_variable,)}.get(kind, _RESOURCES)
    else:
        makers = _RESOURCES + _VARIANTS
    return draw.pick(makers)(draw, dtype, base)


def _variable(draw: Draw, dtype: np.dtype, base: tuple[int, ...]) -> np.ndarray:
    variable = Variable(dtype, None, "fuzz")
    if draw.chance(0.9):
        shape = base if draw.chance(0.7) else _shape(draw, (draw.pick((2, 3)),))
        variable.value = _values(draw, dtype, shape)
    out = np.empty((), dtype=object)
    out[()] = variable
    return out


def _iterator(draw: Draw, dtype: np.dtype, base: tuple[int, ...]) -> np.ndarray:
    dataset = _tensor_slices(draw, dtype, base)
    iterator = _run("AnonymousIteratorV3", [], {"output_types": [dtype],
                                               "output_shapes": [base[1:]]})  # fmt: skip
    registered("MakeIterator").run([dataset, iterator], {})
    return iterator


def _tensor_slices(draw: Draw, dtype: np.dtype, base: tuple[int, ...]) -> np.ndarray:
    base = base or (2,)
    return _run("TensorSliceDataset", [_values(draw, dtype, base)],
                {"output_shapes": [base[1:]]})  # fmt: skip


def _tensor_list(draw: Draw, dtype: np.dtype, base: tuple[int, ...]) -> np.ndarray:
    if not base or draw.chance(0.2):
        return _run("EmptyTensorList", [np.int32(list(base)), np.int32(-1)],
                    {"element_dtype": dtype})  # fmt: skip
    return _run("TensorListFromTensor", [_values(draw, dtype, base), np.int32(list(base[1:]))],
                {"element_dtype": dtype})  # fmt: skip


_RESOURCES: tuple[Callable[[Draw, np.dtype, tuple[int, ...]], np.ndarray], ...] = (
    _variable,
    _variable,
    _variable,
    _iterator,
    lambda draw, dtype, base: _run("AnonymousSeedGenerator",
                                   [np.int64(1), np.int64(2), np.bool_(False)], {}),
    lambda draw, dtype, base: _run("AnonymousMemoryCache", [], {}),
    lambda draw, dtype, base: np.array(draw.pick(_STRINGS), dtype=object),
)
_VARIANTS: tuple[Callable[[Draw, np.dtype, tuple[int, ...]], np.ndarray], ...] = (
    _tensor_list,
    _tensor_list,
    _tensor_slices,
    lambda draw, dtype, base: _run("RangeDataset", [np.int64(0), np.int64(3), np.int64(1)],
                                   {"output_types": [np.dtype(np.int64)],
                                    "output_shapes": [()]}),
    lambda draw, dtype, base: _run("OptionalNone", [], {}),
    lambda draw, dtype, base: _run("OptionalFromValue", [_values(draw, dtype, base)], {}),
)


def _run(op: str, inputs: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray:
    return registered(op).run(inputs, attrs)[0]


def _dtype_choices(definition: OpDef, attr_name: str) -> tuple[np.dtype, ...]:
    """The dtypes of type attr ``attr_name`` that some CPU kernel of the op takes."""
    attr = definition.attrs[attr_name]
    allowed = set(attr.allowed) if attr.allowed is not None else set(_ALL_TYPES)
    taken: set[np.dtype] = set()
    for kernel in definition.cpu_kernels:
        taken |= kernel.get(attr_name, allowed)
    return tuple(t for t in _ALL_TYPES if t in (allowed & taken or allowed))


def _inputs(draw: Draw, definition: OpDef, attrs: dict[str, Any]) -> list[np.ndarray]:
    """Inputs for every input argument, dtypes as the op allows (and the attrs set)."""
    base = tuple(draw.pick((0, 1, 2, 2, 3)) for _ in range(draw.rng.randrange(5)))
    chosen: dict[str, np.dtype] = {}
    for arg in definition.inputs:
        if arg.type_attr and arg.type_attr not in chosen:
            choices = _dtype_choices(definition, arg.type_attr)
            chosen[arg.type_attr] = draw.pick(choices) if choices else np.dtype(np.float32)
    # What a variable input holds: the dtype of the op's values or the one its attrs name.
    held = [t for t in chosen.values() if t != OBJECT]
    held += [v for k, v in attrs.items() if k in ("dtype", "T") and isinstance(v, np.dtype)]
    hint = held[0] if held and draw.chance(0.8) else draw.pick(_ALL_TYPES[:12])
    # Some ops take many scalars (an optimizer's hyperparameters), some none.
    scalars = draw.pick((0.05, 0.3, 0.95))
    inputs: list[np.ndarray] = []
    for arg in definition.inputs:
        for dtype in _arg_dtypes(draw, definition, arg, attrs, chosen):
            if dtype == OBJECT and (arg.type_name in ("resource", "variant")
                                    or draw.chance(0.3)):  # fmt: skip
                inputs.append(_handle(draw, hint, base, arg.type_name))
            elif dtype in _INDEX:
                shape = () if draw.chance(scalars) else _index_shape(draw, base)
                inputs.append(_values(draw, dtype, shape, index=True))
            else:
                shape = () if draw.chance(scalars) else _shape(draw, base)
                inputs.append(_values(draw, dtype, shape))
    return inputs


def _arg_dtypes(draw: Draw, definition: OpDef, arg: ArgDef, attrs: dict[str, Any],
                chosen: dict[str, np.dtype]) -> list[np.dtype]:  # fmt: skip
    if arg.type_list_attr:
        given = attrs.get(arg.type_list_attr)
        if isinstance(given, list) and all(isinstance(t, np.dtype) for t in given):
            return list(given)
        return [draw.pick(_ALL_TYPES) for _ in range(draw.rng.randrange(4))]
    dtype = arg.dtype if arg.dtype is not None else chosen[arg.type_attr]
    if not arg.number_attr:
        return [dtype]
    minimum = definition.attrs[arg.number_attr].minimum or 0
    count = draw.rng.randrange(max(minimum - 1, 0), minimum + 4)
    return [dtype] * count


# --- attrs --------------------------------------------------------------------------------


def _scalar_attr(draw: Draw, kind: str, attr: AttrDef, definition: OpDef) -> Any:
    """A value of ``kind``: mostly sensible for the op, sometimes hostile."""
    hostile = draw.chance(0.2)
    allowed = _sorted_allowed(definition.name, attr.name)
    if kind == "int":
        return draw.pick(_HOSTILE_INTS) if hostile else draw.rng.randrange(-1, 5)
    if kind == "float":
        return draw.pick(_HOSTILE_FLOATS) if hostile else draw.pick((0.0, 0.5, 1.0, 2.0))
    if kind == "bool":
        return draw.chance(0.5)
    if kind == "string":
        if hostile:
            return draw.pick(_HOSTILE_STRINGS)
        return draw.pick(allowed) if allowed else draw.pick(_STRINGS)
    if kind == "type":
        if hostile:
            return draw.pick((DataType.DT_RESOURCE, DataType.DT_QINT8, DataType.DT_VARIANT))
        return draw.pick(allowed or _dtype_choices(definition, attr.name) or _ALL_TYPES)
    if kind == "shape":
        if hostile:
            return draw.pick(((-5,), (1 << 62, 1 << 62), (10**6,) * 3, (-1,) * 5))
        if draw.chance(0.2):
            return None
        return tuple(draw.pick((-1, 0, 1, 2, 3)) for _ in range(draw.rng.randrange(4)))
    if kind == "tensor":
        dtype = draw.pick(_ALL_TYPES)
        return _values(draw, dtype, _shape(draw, (2,)))
    if kind == "func":
        return FuncAttr(draw.pick((*draw.functions, "Nope")))
    raise AssertionError(kind)


@functools.cache
def _sorted_allowed(op: str, name: str) -> list[Any] | None:
    allowed = registered(op).definition.attrs[name].allowed
    return None if allowed is None else sorted(allowed, key=repr)


def _wrong_kind(draw: Draw) -> Any:
    """A value as the wire decodes some other attr kind."""
    return draw.pick((3, -1, True, 2.5, b"x", b"\xff", np.dtype(np.float32), (2, 3), None,
                      [1, 2], [b"a"], [], [np.dtype(np.int32)], FuncAttr("Nope"),
                      np.float32([1, 2]), DataType.DT_RESOURCE))  # fmt: skip


def _attr(draw: Draw, attr: AttrDef, definition: OpDef) -> Any:
    if draw.chance(0.04):
        return _wrong_kind(draw)
    kind = attr.type
    if not kind.startswith("list("):
        return _scalar_attr(draw, kind, attr, definition)
    element = kind[5:-1]
    if element == "int" and draw.chance(0.5):
        return list(draw.pick(([1, 1, 1, 1], [1, 2, 2, 1], [1, 1, 2, 2], [1, 0, 1, 1],
                               [1, -1, 1, 1], [1, 3, 1, 1], [2, 2], [1, 1, 1, 1, 1])))
    length = draw.rng.randrange(5)
    return [_scalar_attr(draw, element, attr, definition) for _ in range(length)]


def _attrs(draw: Draw, definition: OpDef) -> dict[str, Any]:
    """Attrs the caller sets: some left to their defaults, type attrs mostly left to the
    inputs."""
    attrs: dict[str, Any] = {}
    inferred = {a.type_attr for a in definition.inputs} | {
        a.number_attr for a in definition.inputs
    } | {a.type_list_attr for a in definition.inputs}
    for attr in definition.attrs.values():
        if attr.name in inferred and not draw.chance(0.1):
            continue
        if attr.default is not MISSING and draw.chance(0.5):
            continue
        attrs[attr.name] = _attr(draw, attr, definition)
    return attrs


# --- mutations of the records' valid calls ----------------------------------------------


def _mutate(draw: Draw, definition: OpDef, case: Case) -> tuple[list[np.ndarray], dict[str, Any]]:
    """One record's call with one or two things changed; its resources and variants are
    copies (the records' own iterators and variables stay as their tests expect them)."""
    inputs = [_fresh(a) for a in case.inputs]
    attrs = dict(case.attrs)
    for _ in range(draw.rng.randrange(1, 3)):
        roll = draw.rng.random()
        if roll < 0.4 and definition.attrs:
            attr = draw.pick(sorted(definition.attrs.values(), key=lambda a: a.name))
            attrs[attr.name] = _attr(draw, attr, definition)
        elif inputs:
            i = draw.rng.randrange(len(inputs))
            old = np.asarray(inputs[i])
            if old.dtype == OBJECT and old.ndim == 0 and not isinstance(old.item(), bytes):
                inputs[i] = _handle(draw, draw.pick(_ALL_TYPES[:12]), (2,), "")
            elif old.dtype in _INDEX and draw.chance(0.6):
                inputs[i] = _values(draw, old.dtype, old.shape if draw.chance(0.6)
                                    else _index_shape(draw, old.shape), index=True)
            else:
                inputs[i] = _values(draw, old.dtype, _shape(draw, old.shape))
    return inputs, attrs


_VALUES = (bytes, TensorList, Dataset, Optional, Variable)
"""What the records' object inputs may hold for their calls to be mutated: values, and
variables (which ``_fresh`` copies); an iterator or a seed generator would move on."""


def _fresh(a: Any) -> Any:
    """A record's input, its variable (if it holds one) a copy: assignments replace a
    variable's array, so the record's own stays as its tests expect it."""
    item = a.item() if isinstance(a, np.ndarray) and a.dtype == OBJECT and a.ndim == 0 else None
    if not isinstance(item, Variable):
        return a
    out = np.empty((), dtype=object)
    out[()] = copy.copy(item)
    return out


def _mutable(case: Case) -> bool:
    arrays = [np.asarray(a) for a in case.inputs]
    return all(isinstance(v, _VALUES) for a in arrays if a.dtype == OBJECT for v in a.flat)


# --- the check ----------------------------------------------------------------------------


def _specs(inputs: Sequence[np.ndarray], draw: Draw) -> list[TensorSpec]:
    """The runtime's view of the inputs: int values known (mostly), sometimes shapes too
    vague for the rule to settle."""
    specs = []
    for a in inputs:
        known = a.dtype in _INDEX and not draw.chance(0.15)
        shape: tuple[int, ...] | None = a.shape
        if draw.chance(0.1):
            shape = None if draw.chance(0.3) else tuple(-1 for _ in a.shape)
            known = False
        specs.append(TensorSpec(a.dtype, shape, a if known else None))
    return specs


def _too_big(specs: Sequence[TensorSpec]) -> bool:
    return any(
        spec.shape is not None and min(spec.shape, default=0) >= 0
        and math.prod(spec.shape) > _MAX_ELEMENTS
        for spec in specs
    )  # fmt: skip


def _call(kernel: Any, inputs: list[np.ndarray], attrs: dict[str, Any], draw: Draw
          ) -> str | None:  # fmt: skip
    """A problem with one call of ``kernel``, or None."""
    specs = _specs(inputs, draw)
    inferred: list[TensorSpec] | None = None
    try:
        inferred = kernel.shapes(specs, attrs)
    except EagerError:
        pass
    except Exception as error:  # the point of the test: any other exception is a bug
        return f"shapes raised {type(error).__name__}: {error}"
    try:
        # What the worker's memory quota asks before the kernel runs, every value known.
        if _too_big(kernel.shapes([TensorSpec(a.dtype, a.shape, a) for a in inputs], attrs)):
            return None
    except EagerError:
        pass
    except Exception as error:
        return f"shapes (values known) raised {type(error).__name__}: {error}"
    try:
        outputs = kernel.run(inputs, attrs)
    except EagerError:
        return None
    except Exception as error:
        return f"run raised {type(error).__name__}: {error}"
    exact = all(s.shape is not None for s in specs) and kernel.name not in _UNCHECKED_SHAPES
    if inferred is not None and exact and len(inferred) == len(outputs):
        for i, (spec, output) in enumerate(zip(inferred, outputs, strict=True)):
            if not compatible(spec, output):
                return (f"output {i} is {output.dtype}{list(output.shape)}, the shape rule "
                        f"said {spec.dtype}{spec.shape}")
    return None


def _describe(inputs: Sequence[np.ndarray], attrs: dict[str, Any]) -> str:
    shown = ", ".join(
        f"{a.dtype}{list(a.shape)}" + (f"={a.ravel()[:6].tolist()}" if a.dtype in _INDEX else "")
        for a in inputs
    )
    return f"inputs [{shown}] attrs {attrs!r}"[:600]


_SALT = os.environ.get("EAGER_ASYNC_FUZZ_SALT", "")
"""Set to draw other calls than the test's (to look for more problems by hand)."""

_RECORDS: dict[str, list[Case]] = {}
for _case in tables("CASES"):
    _RECORDS.setdefault(_case.op, []).append(_case)


def problems(op: str) -> list[str]:
    """What went wrong in the op's seeded calls (empty: nothing)."""
    definition = registered(op).definition
    found: list[str] = []
    records = [] if op in _LOOPS else [r for r in _RECORDS.get(op, []) if _mutable(r)]
    for record_index, record in enumerate([None, *records]):
        functions = () if record is None else record.functions
        draw = Draw(random.Random(zlib.crc32(f"{op}/{record_index}{_SALT}".encode())),
                    tuple(f.name for f in functions))
        kernel = lookup(op, functions)
        count = _CASES_PER_OP if record is None else _MUTATIONS_PER_RECORD
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for _ in range(count):
                if record is None:
                    attrs = _attrs(draw, definition)
                    inputs = _inputs(draw, definition, attrs)
                else:
                    inputs, attrs = _mutate(draw, definition, record)
                inputs = [np.asarray(a) for a in inputs]
                problem = _call(kernel, inputs, attrs, draw)
                if problem is not None:
                    found.append(f"{op}: {problem}\n    {_describe(inputs, attrs)}")
    return found


@pytest.mark.parametrize("op", [op for op in registered_ops() if op not in SKIPPED])
def test_hostile_calls_fail_with_a_status(op: str) -> None:
    assert problems(op) == []


def test_skipped_ops_are_registered() -> None:
    assert set(SKIPPED) <= set(registered_ops())
