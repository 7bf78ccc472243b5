"""The op registry: TF op name -> kernel and shape rule, under TF's op contract.

TensorFlow's op definition (``op_defs``) is the contract: before a kernel or a shape
rule sees a call, the registry checks the input count and dtypes, fills attr defaults,
takes type and number attrs from the inputs, and derives the output dtypes
(``contract.bind``). What is left to an op is its math:

- a **kernel** takes the op's inputs positionally, in op-def order (an argument that is a
  list of tensors arrives as a list), and the attrs it names as keyword-only parameters
  (type attrs as NumPy dtypes); it returns an array, or a tuple with one entry per output
  argument (a list for a list argument). A kernel is callable alone.
- a **shape rule** has the same signature over ``TensorSpec``s and returns the static
  shapes in the same structure: a tuple of dims (-1 unknown) or None (unknown rank).
- an op that needs its context (a function call, ``_Send``, a dataset) names a
  keyword-only parameter ``env`` and receives the context's ``OpEnv``.

>>> @op("Square", shape=same_shape)                    # doctest: +SKIP
... def square(x):
...     return np.square(x)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import InvalidArgumentError, NotFoundError
from .contract import Binding, bind, lookup_def
from .op_defs import OpDef
from .specs import Shape, TensorSpec

__all__ = [
    "Attrs",
    "KernelSpec",
    "OpEnv",
    "Shape",
    "TensorSpec",
    "lookup",
    "no_outputs",
    "op",
    "registered_ops",
    "same_shape",
]

Attrs = Mapping[str, Any]


class OpEnv(Protocol):
    """What an op that needs its context receives as ``env`` (see ``eager_async.op_env``)."""

    @property
    def step_id(self) -> int:
        """The step the op runs in: its context's id, or a component function's step."""
        ...

    def kernel(self, name: str) -> Any:
        """The kernel of op or function ``name``, one call level deeper."""
        ...


class _Math(Protocol):
    def __call__(self, *args: Any, **attrs: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class KernelSpec:
    """One registered op: its TF definition, kernel and shape rule.

    ``run`` and ``shapes`` take the flat inputs (arrays or specs) and the caller's attrs,
    as the runtime holds them, and check the contract first.
    """

    name: str
    definition: OpDef
    kernel: _Math
    rule: _Math | None
    attr_names: tuple[str, ...]
    rule_attr_names: tuple[str, ...]
    needs_env: bool = False
    env: Any = field(default=None, compare=False)

    @property
    def stateful(self) -> bool:
        """Whether TF marks the op stateful: a function body runs it even when no output
        depends on it, and its calls keep their order."""
        return self.definition.stateful

    @property
    def output_args(self) -> tuple[str, ...]:
        """The names of the output arguments (``y`` and ``idx`` of Unique)."""
        return tuple(arg.name for arg in self.definition.outputs)

    def with_env(self, env: Any) -> KernelSpec:
        """This op bound to a context's ``env`` (ops that need none come back as is)."""
        if not self.needs_env:
            return self
        return KernelSpec(
            self.name, self.definition, self.kernel, self.rule, self.attr_names,
            self.rule_attr_names, True, env,
        )  # fmt: skip

    def bind(self, dtypes: Sequence[np.dtype], attrs: Attrs) -> Binding:
        """The checked call (memoised: a stream of tiny ops asks the same question)."""
        # The wire decoder hands out one attrs dict per distinct encoding, so the same
        # dict object comes back op after op: look it up by identity first (the entry
        # holds the dict, so its id cannot be reused while cached).
        dtypes = tuple(dtypes)
        recent = _BY_IDENTITY.get((self.name, id(attrs)))
        if recent is not None and recent[0] is attrs and recent[1] == dtypes:
            return recent[2]
        binding = _memo_bind(self.name, self.definition, dtypes, attrs)
        if len(_BY_IDENTITY) >= _MEMO_SIZE:
            _BY_IDENTITY.clear()
        _BY_IDENTITY[(self.name, id(attrs))] = (attrs, dtypes, binding)
        return binding

    def run(self, inputs: Sequence[np.ndarray], attrs: Attrs) -> list[np.ndarray]:
        """Check the call, run the kernel; every output comes back as an ndarray of the
        dtype the op definition gives it."""
        binding = self.bind([a.dtype for a in inputs], attrs)
        if binding.strings:
            binding.check_strings(self.name, inputs)
        args = inputs if binding.flat else binding.split(inputs)
        if self.attr_names:
            result = self.kernel(*args, **self._kwargs(binding, self.attr_names))
        elif len(args) == 2:  # a binary element-wise op: a plain call, no * or **
            result = self.kernel(args[0], args[1])
        else:
            result = self.kernel(*args)
        if binding.out_counts == (None,):  # one output: most ops, the tiny ones among them
            return [_as_array(result, binding.out_dtypes[0])]
        outputs = _flatten(self.name, result, binding.out_counts)
        return [
            _as_array(out, dtype) for out, dtype in zip(outputs, binding.out_dtypes, strict=True)
        ]

    def shapes(self, specs: Sequence[TensorSpec], attrs: Attrs) -> list[TensorSpec]:
        """The output specs, without running the kernel (memoised like ``bind``)."""
        key = None if self.needs_env else _memo_key(self.name, specs, attrs)
        if key is not None:
            known = _SHAPES.get(key)
            if known is not None:
                return list(known)
        binding = self.bind([s.dtype for s in specs], attrs)
        if self.rule is None:
            shapes: list[Shape] = [None] * len(binding.out_dtypes)
        else:
            kwargs = self._kwargs(binding, self.rule_attr_names)
            shapes = _flatten(self.name, self.rule(*binding.split(specs), **kwargs),
                              binding.out_counts)  # fmt: skip
        inferred = tuple(
            TensorSpec(dtype, None if shape is None else tuple(shape))
            for dtype, shape in zip(binding.out_dtypes, shapes, strict=True)
        )
        if key is not None:
            if len(_SHAPES) >= _MEMO_SIZE:
                _SHAPES.clear()  # a new working set (bounded memory, not a frozen one)
            _SHAPES[key] = inferred
        return list(inferred)

    def _kwargs(self, binding: Binding, names: tuple[str, ...]) -> dict[str, Any]:
        """The attrs a kernel or rule names, and ``env`` if it names that."""
        if "env" not in names:
            return binding.kwargs(names)
        if self.env is None:
            raise InvalidArgumentError(f"{self.name} can only run inside a context")
        return {**binding.kwargs(tuple(n for n in names if n != "env")), "env": self.env}


def _as_array(output: Any, dtype: np.dtype) -> np.ndarray:
    if isinstance(output, np.ndarray) and output.dtype == dtype:
        return output
    if dtype == np.dtype(object) and not isinstance(output, np.ndarray):
        # A 0-d string or resource: NumPy would make bytes a fixed-width 'S' array.
        array = np.empty((), dtype=object)
        array[()] = output
        return array
    return np.asarray(output, dtype=dtype)


def _flatten(op: str, result: Any, counts: tuple[int | None, ...]) -> list[Any]:
    """A kernel's (or rule's) result, one entry per output tensor."""
    if len(counts) == 0:
        return []
    values = [result] if len(counts) == 1 else list(result)
    if len(values) != len(counts):
        raise InvalidArgumentError(
            f"{op} returned {len(values)} outputs for {len(counts)} output arguments"
        )
    flat: list[Any] = []
    for value, count in zip(values, counts, strict=True):
        if count is None:
            flat.append(value)
        else:
            value = list(value)
            if len(value) != count:
                raise InvalidArgumentError(
                    f"{op} returned a list of {len(value)} tensors where its attrs say {count}"
                )
            flat += value
    return flat


_REGISTRY: dict[str, KernelSpec] = {}

_SHAPES: dict[Hashable, tuple[TensorSpec, ...]] = {}
_BINDINGS: dict[Hashable, Binding] = {}
_BY_IDENTITY: dict[tuple[str, int], tuple[Attrs, tuple[np.dtype, ...], Binding]] = {}
_ATTRS_KEYS: dict[int, tuple[Attrs, Hashable | None]] = {}
_MEMO_SIZE = 8192
_MAX_KEY_VALUES = 64


def _memo_bind(
    op_name: str, definition: OpDef, dtypes: tuple[np.dtype, ...], attrs: Attrs
) -> Binding:
    """``contract.bind``, memoised by the dtypes and the attrs' values."""
    key = _bind_key(op_name, dtypes, attrs)
    if key is None:
        return bind(definition, dtypes, attrs)
    found = _BINDINGS.get(key)
    if found is None:
        found = bind(definition, dtypes, attrs)
        if len(_BINDINGS) < _MEMO_SIZE:
            _BINDINGS[key] = found
    return found


def _hashable(value: Any) -> Any:
    # With its type: True, 1 and 1.0 are equal keys, but not the same attr (a bool where
    # an int is due must not find the binding of the int).
    if isinstance(value, list):
        if len(value) > _MAX_KEY_VALUES:  # not worth a key: converting it took 0.3 s
            raise TypeError(f"a list attr of {len(value)} values")
        return tuple(_hashable(v) for v in value)
    return type(value), value


def _attrs_key(attrs: Attrs) -> Hashable | None:
    """The attrs as a dict key (None: a tensor attr); by the dict's identity first, as
    the wire decoder hands out one dict per encoding (see ``KernelSpec.bind``)."""
    known = _ATTRS_KEYS.get(id(attrs))
    if known is not None and known[0] is attrs:
        return known[1]
    key: Hashable | None
    try:
        key = tuple(sorted((k, _hashable(v)) for k, v in attrs.items()))
        hash(key)
    except TypeError:  # a tensor attr, or a long list
        key = None
    if len(_ATTRS_KEYS) >= _MEMO_SIZE:
        _ATTRS_KEYS.clear()
    _ATTRS_KEYS[id(attrs)] = (attrs, key)
    return key


def _bind_key(op: str, dtypes: Sequence[np.dtype], attrs: Attrs) -> Hashable | None:
    attrs_key = _attrs_key(attrs)
    return None if attrs_key is None else (op, tuple(dtypes), attrs_key)


def _memo_key(op: str, specs: Sequence[TensorSpec], attrs: Attrs) -> Hashable | None:
    """What a shape rule's answer depends on; None when it cannot be a dict key."""
    inputs = []
    for spec in specs:
        key = spec.memo_key(_MAX_KEY_VALUES)
        if key is None:
            return None
        inputs.append(key)
    attrs_key = _attrs_key(attrs)
    return None if attrs_key is None else (op, tuple(inputs), attrs_key)


def _keyword_names(fn: Callable[..., Any], definition: OpDef, what: str) -> tuple[str, ...]:
    """The attrs ``fn`` takes; checks its positional parameters match the op's inputs."""
    parameters = inspect.signature(fn).parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    if len(positional) != len(definition.inputs) and not variadic:
        raise TypeError(
            f"the {what} of {definition.name} takes {len(positional)} inputs; its op "
            f"definition has {len(definition.inputs)}"
        )
    # "env" stays among the names: the function is handed the context's OpEnv there.
    names = tuple(p.name for p in parameters if p.kind == p.KEYWORD_ONLY)
    unknown = set(names) - set(definition.attrs) - {"env"}
    if unknown:
        raise TypeError(f"the {what} of {definition.name} names attrs it lacks: {unknown}")
    return names


def _takes_env(fn: Callable[..., Any] | None) -> bool:
    return fn is not None and "env" in inspect.signature(fn).parameters


def make_spec(
    name: str, kernel: Callable[..., Any], shape: Callable[..., Any] | None,
    definition: OpDef | None = None,
) -> KernelSpec:  # fmt: skip
    """A ``KernelSpec`` for ``kernel`` under TF's definition of ``name`` (or
    ``definition``, for an op TensorFlow does not have)."""
    definition = definition or lookup_def(name)
    return KernelSpec(
        name=name,
        definition=definition,
        kernel=kernel,
        rule=shape,
        attr_names=_keyword_names(kernel, definition, "kernel"),
        rule_attr_names=() if shape is None else _keyword_names(shape, definition, "shape rule"),
        needs_env=_takes_env(kernel) or _takes_env(shape),
    )


def op(
    name: str, *, shape: Callable[..., Any] | None, definition: OpDef | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated kernel under the literal TF op ``name`` with its shape
    rule (None: every output's shape is unknown until it runs)."""

    def decorate(kernel: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"op {name!r} is registered twice")
        _REGISTRY[name] = make_spec(name, kernel, shape, definition)
        return kernel

    return decorate


def lookup(name: str) -> KernelSpec:
    """The op registered as ``name``; NOT_FOUND when there is none."""
    spec = _REGISTRY.get(name)
    if spec is None:
        raise NotFoundError(f"Op type not registered '{name}' on this eager_async worker")
    return spec


def registered_ops() -> list[str]:
    """Every registered op name, sorted."""
    return sorted(_REGISTRY)


def same_shape(x: TensorSpec, *rest: Any, **attrs: Any) -> Shape:
    """The shape rule of ops whose one output has the shape of their first input."""
    return x.shape


def no_outputs(*specs: Any, **attrs: Any) -> None:
    """The shape rule of ops without outputs (an assignment, a ``_Send``)."""
    return None
