"""A tensor held by a worker, as the client sees it: the handle, its dtype and shape, and
NumPy-style operators that enqueue TensorFlow ops and return new tensors at once.

Nothing is sent when an operator runs: the op joins the context's next batch (see
``client_batcher``). ``await tensor`` fetches the value; a failed op raises its
``EagerError`` there, and so does every tensor computed from it.

>>> c = (a + 1) * b          # AddV2, then Mul: no round trip      # doctest: +SKIP
>>> print(await c.sum(axis=0))                                       # doctest: +SKIP
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ._proto.tensorflow import eager as pb
from .errors import EagerError

if TYPE_CHECKING:
    import asyncio

__all__ = ["OpRecord", "Operand", "RemoteTensor", "Shape", "TensorOwner"]

Shape = tuple[int, ...] | None
"""A tensor's shape: -1 for a dim not known yet, None for an unknown rank."""

Operand = Any
"""What an op takes as an input: a ``RemoteTensor``, or anything ``np.asarray`` takes."""


class OpRecord:
    """One op the client issued, and what became of it: the dtypes and shapes of its
    outputs (inferred by the client, then the worker's), its error, and whether the worker
    holds its handles (which the client must then release)."""

    __slots__ = ("dtypes", "error", "name", "op_id", "registered", "replied", "shapes")

    def __init__(
        self, op_id: int, name: str, dtypes: Sequence[np.dtype | None],
        shapes: Sequence[Shape], replied: asyncio.Future[None],
    ) -> None:
        self.op_id = op_id
        self.name = name
        self.dtypes = list(dtypes)
        self.shapes = list(shapes)
        self.error: EagerError | None = None
        self.registered = False
        self.replied = replied
        """Done once the worker answered the request that carried the op (or it failed)."""

    def describe(self) -> str:
        """``AddV2 (op id 7)``, as the worker names ops in its errors."""
        return f"{self.name} (op id {self.op_id})"


class TensorOwner(Protocol):
    """What a bound ``RemoteTensor`` asks of its context (``client_batcher.Batcher``)."""

    def issue(
        self, name: str, inputs: Sequence[Operand], attrs: Mapping[str, Any],
        outputs: Sequence[tuple[np.dtype | None, Shape]],
    ) -> list[RemoteTensor]:
        """Queue op ``name`` and return its outputs."""
        ...

    async def fetch(self, tensor: RemoteTensor, timeout: float | None) -> np.ndarray:
        """The value of ``tensor``."""
        ...


_INTEGER_DIVISION = {1: np.float32, 2: np.float32, 4: np.float64, 8: np.float64}


class RemoteTensor:
    """Output ``output_num`` of op ``op_id`` on the worker.

    Made by a context (``ctx.constant``, operators, ``ctx.op``, ``ctx.run``), it knows
    its ``dtype`` and ``shape``, runs NumPy-style operators on the worker, is fetched by
    ``await tensor`` (or ``await tensor.numpy()``), and is released on the worker when
    garbage collected. ``RemoteTensor(op_id, output_num)`` alone is a bare handle for the
    low-level calls (``ctx.release``, raw queue items): no operators, no release.

    >>> x = ctx.constant(np.arange(6.0).reshape(2, 3))   # doctest: +SKIP
    >>> y = (x * 2)[:, 1:].T                              # doctest: +SKIP
    >>> await y                                           # doctest: +SKIP
    array([[ 2.,  8.], [ 4., 10.]])
    """

    __slots__ = ("__weakref__", "_dtype", "_finalizer", "_owner", "_record", "_shape",
                 "_value", "op_id", "output_num")

    # NumPy hands mixed expressions (array + tensor) to our reflected operators.
    __array_ufunc__ = None

    def __init__(
        self, op_id: int, output_num: int = 0, shape: Shape = None,
        *, dtype: np.dtype | None = None,
    ) -> None:
        self.op_id = op_id
        self.output_num = output_num
        self._shape = shape
        self._dtype = dtype
        self._owner: TensorOwner | None = None
        self._record: OpRecord | None = None
        self._value: np.ndarray | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @classmethod
    def bound(cls, owner: TensorOwner, record: OpRecord, output_num: int) -> RemoteTensor:
        """Output ``output_num`` of ``record``'s op, issued through ``owner``."""
        tensor = cls(record.op_id, output_num)
        tensor._owner = owner
        tensor._record = record
        return tensor

    def on_collect(self, callback: Callable[..., None], *args: Any) -> None:
        """Call ``callback(*args)`` once this tensor is garbage collected (not at exit)."""
        self._finalizer = weakref.finalize(self, callback, *args)
        self._finalizer.atexit = False

    def forget_collect(self) -> None:
        """Call nothing when collected after all (the handle was released by hand)."""
        if self._finalizer is not None:
            self._finalizer.detach()

    @property
    def record(self) -> OpRecord | None:
        """The op that makes this tensor (None for a bare handle)."""
        return self._record

    @property
    def dtype(self) -> np.dtype | None:
        """The NumPy dtype (object for strings, resources and variants); None if unknown."""
        if self._record is not None:
            return self._record.dtypes[self.output_num]
        return self._dtype

    @property
    def shape(self) -> Shape:
        """The shape as known now: the client's inference for operators, the worker's
        answer once it came, the value's once fetched (-1: a dim not known yet)."""
        if self._value is not None:
            return self._value.shape
        if self._record is not None:
            return self._record.shapes[self.output_num]
        return self._shape

    @property
    def ndim(self) -> int | None:
        """The rank, if known."""
        shape = self.shape
        return None if shape is None else len(shape)

    def handle(self) -> pb.RemoteTensorHandle:
        """The protocol handle naming this tensor."""
        return pb.RemoteTensorHandle(op_id=self.op_id, output_num=self.output_num)

    async def numpy(self, *, timeout: float | None = None) -> np.ndarray:
        """The value, fetched from the worker (once; later calls return it again).

        Raises the op's ``EagerError`` if it, or an op it depends on, failed, and
        ``DeadlineExceededError`` after ``timeout`` seconds (the client's default when
        None). A fetch that timed out still completes on the worker; its value is dropped.
        """
        if self._value is None:
            self._value = await self._bound_owner("fetch it").fetch(self, timeout)
        return self._value

    def __await__(self) -> Generator[Any, None, np.ndarray]:
        return self.numpy().__await__()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if self._value is None:
            raise TypeError(
                f"{self!r} has not been fetched: its value is on the worker. Use "
                "`await tensor` (or `await tensor.numpy()`) first, then np.asarray works."
            )
        return self._value if dtype is None else self._value.astype(dtype)

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a RemoteTensor is on the worker: `await` it and test the "
            "fetched array"
        )

    def __iter__(self) -> Iterator[RemoteTensor]:
        shape = self.shape
        if not shape or shape[0] < 0:
            raise TypeError(f"cannot iterate over {self!r}: its first dimension is not known")
        return (self[i] for i in range(shape[0]))

    def __repr__(self) -> str:
        state = "fetched" if self._value is not None else "pending"
        record = self._record
        if record is not None and record.error is not None:
            state = "failed"
        dtype = "?" if self.dtype is None else str(self.dtype)
        return (f"<RemoteTensor op {self.op_id}:{self.output_num} shape={self.shape} "
                f"dtype={dtype} {state}>")

    __hash__ = object.__hash__  # by identity: == is elementwise, as in NumPy

    # Operators: each is one TF op (or two, where TF's own operator casts first).

    def __add__(self, other: Operand) -> RemoteTensor:
        return self._binary("AddV2", self, other)

    def __radd__(self, other: Operand) -> RemoteTensor:
        return self._binary("AddV2", other, self)

    def __sub__(self, other: Operand) -> RemoteTensor:
        return self._binary("Sub", self, other)

    def __rsub__(self, other: Operand) -> RemoteTensor:
        return self._binary("Sub", other, self)

    def __mul__(self, other: Operand) -> RemoteTensor:
        return self._binary("Mul", self, other)

    def __rmul__(self, other: Operand) -> RemoteTensor:
        return self._binary("Mul", other, self)

    def __truediv__(self, other: Operand) -> RemoteTensor:
        return self._divide(self, other)

    def __rtruediv__(self, other: Operand) -> RemoteTensor:
        return self._divide(other, self)

    def __floordiv__(self, other: Operand) -> RemoteTensor:
        return self._binary("FloorDiv", self, other)

    def __rfloordiv__(self, other: Operand) -> RemoteTensor:
        return self._binary("FloorDiv", other, self)

    def __mod__(self, other: Operand) -> RemoteTensor:
        return self._binary("FloorMod", self, other)

    def __rmod__(self, other: Operand) -> RemoteTensor:
        return self._binary("FloorMod", other, self)

    def __pow__(self, other: Operand) -> RemoteTensor:
        return self._binary("Pow", self, other)

    def __rpow__(self, other: Operand) -> RemoteTensor:
        return self._binary("Pow", other, self)

    def __matmul__(self, other: Operand) -> RemoteTensor:
        return self._matmul(self, other)

    def __rmatmul__(self, other: Operand) -> RemoteTensor:
        return self._matmul(other, self)

    def __neg__(self) -> RemoteTensor:
        return self._unary("Neg")

    def __abs__(self) -> RemoteTensor:
        dtype = self.dtype
        if dtype is not None and dtype.kind == "c":  # TF's abs of complex is real
            real = np.dtype(np.float32 if dtype == np.complex64 else np.float64)
            return self._op1("ComplexAbs", [self], {"Tout": real}, real, self.shape)
        return self._unary("Abs")

    def __lt__(self, other: Operand) -> RemoteTensor:
        return self._binary("Less", self, other, compare=True)

    def __le__(self, other: Operand) -> RemoteTensor:
        return self._binary("LessEqual", self, other, compare=True)

    def __gt__(self, other: Operand) -> RemoteTensor:
        return self._binary("Greater", self, other, compare=True)

    def __ge__(self, other: Operand) -> RemoteTensor:
        return self._binary("GreaterEqual", self, other, compare=True)

    def __eq__(self, other: object) -> RemoteTensor:  # type: ignore[override]
        if other is None:  # `tensor == None` is a question about the object, not values
            return NotImplemented
        return self._binary("Equal", self, other, compare=True)

    def __ne__(self, other: object) -> RemoteTensor:  # type: ignore[override]
        if other is None:
            return NotImplemented
        return self._binary("NotEqual", self, other, compare=True)

    def __getitem__(self, key: Any) -> RemoteTensor:
        begin, end, strides, masks = _strided_slice(key)
        return self._op1("StridedSlice", [self, begin, end, strides], masks,
                         self.dtype, _sliced(self.shape, key))

    @property
    def T(self) -> RemoteTensor:  # NumPy's name
        """The transpose (all dims reversed): ``Transpose``."""
        rank = self.ndim
        if rank is None:
            raise ValueError(f"{self!r} has an unknown rank: use tensor.transpose(perm)")
        return self.transpose(list(reversed(range(rank))))

    def transpose(self, perm: Sequence[int]) -> RemoteTensor:
        """Dims permuted by ``perm``: ``Transpose``."""
        shape = self.shape
        out = None if shape is None else tuple(shape[p] for p in perm)
        return self._op1("Transpose", [self, np.asarray(perm, np.int32)], {}, self.dtype, out)

    def reshape(self, *shape: int | Sequence[int]) -> RemoteTensor:
        """The same elements in ``shape`` (one dim may be -1): ``Reshape``.

        >>> x.reshape(3, -1)          # doctest: +SKIP
        """
        dims = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        wanted = tuple(operator.index(d) for d in dims)  # type: ignore[arg-type]
        return self._op1("Reshape", [self, np.asarray(wanted, np.int32)], {}, self.dtype,
                         _reshaped(self.shape, wanted))

    def astype(self, dtype: Any) -> RemoteTensor:
        """Converted to ``dtype``: ``Cast``."""
        target = np.dtype(dtype)
        return self._op1("Cast", [self], {"DstT": target}, target, self.shape)

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> RemoteTensor:
        """The sum over ``axis`` (all axes when None): ``Sum``."""
        return self._reduce("Sum", axis, keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> RemoteTensor:
        """The mean over ``axis`` (integer tensors truncate, as in TF): ``Mean``."""
        return self._reduce("Mean", axis, keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> RemoteTensor:
        """The maximum over ``axis``: ``Max``."""
        return self._reduce("Max", axis, keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> RemoteTensor:
        """The minimum over ``axis``: ``Min``."""
        return self._reduce("Min", axis, keepdims)

    # Building ops.

    def _bound_owner(self, what: str) -> TensorOwner:
        if self._owner is None:
            raise TypeError(
                f"{self!r} is a bare handle, not made by a context: cannot {what}; use the "
                "tensors a context returns"
            )
        return self._owner

    def _op1(
        self, name: str, inputs: Sequence[Operand], attrs: Mapping[str, Any],
        dtype: np.dtype | None, shape: Shape,
    ) -> RemoteTensor:
        (out,) = self._bound_owner(f"run {name}").issue(name, inputs, attrs, [(dtype, shape)])
        return out

    def _unary(self, name: str) -> RemoteTensor:
        return self._op1(name, [self], {}, self.dtype, self.shape)

    def _binary(
        self, name: str, left: Operand, right: Operand, *, compare: bool = False
    ) -> RemoteTensor:
        x, y = self._operand(left), self._operand(right)
        dtype = np.dtype(np.bool_) if compare else self.dtype
        return self._op1(name, [x, y], {}, dtype, _broadcast(_shape_of(x), _shape_of(y)))

    def _divide(self, left: Operand, right: Operand) -> RemoteTensor:
        dtype = self.dtype
        if dtype is not None and dtype.kind in "iu":
            # TF's `/` on integers divides in floating point, as Python's does.
            target = np.dtype(_INTEGER_DIVISION[dtype.itemsize])
            cast = self.astype(target)

            def floating(value: Operand) -> Any:
                if value is self:
                    return cast
                if isinstance(value, RemoteTensor):
                    return value.astype(target)
                return np.asarray(self._operand(value), target)

            return cast._binary("RealDiv", floating(left), floating(right))
        return self._binary("RealDiv", left, right)

    def _matmul(self, left: Operand, right: Operand) -> RemoteTensor:
        x, y = self._operand(left), self._operand(right)
        a, b = _shape_of(x), _shape_of(y)
        if (a is not None and len(a) < 2) or (b is not None and len(b) < 2):
            raise ValueError(f"@ takes tensors of rank 2 or more, as TF's; got {a} @ {b}")
        if a is not None and b is not None and len(a) == len(b) == 2:
            return self._op1("MatMul", [x, y], {}, self.dtype, (a[0], b[1]))
        batch = None if a is None or b is None else _broadcast(a[:-2], b[:-2])
        out = None if batch is None or a is None or b is None else (*batch, a[-2], b[-1])
        return self._op1("BatchMatMulV2", [x, y], {}, self.dtype, out)

    def _reduce(self, name: str, axis: int | Sequence[int] | None, keepdims: bool) -> RemoteTensor:
        shape = self.shape
        source = self
        if axis is None:
            if shape is None:
                if keepdims:
                    raise ValueError(f"{self!r} has an unknown rank: keepdims needs an axis")
                source, shape = self.reshape(-1), (-1,)
            axes: tuple[int, ...] = tuple(range(len(shape)))
        else:
            axes = (axis,) if isinstance(axis, int) else tuple(axis)
        out: Shape = None
        if shape is not None:
            rank = len(shape)
            wrapped = {a % rank for a in axes} if rank else set()
            out = tuple(1 if i in wrapped else d for i, d in enumerate(shape)
                        if keepdims or i not in wrapped)
        return source._op1(name, [source, np.asarray(axes, np.int32)], {"keep_dims": keepdims},
                           self.dtype, out)

    def _operand(self, value: Operand) -> Any:
        """``value`` as an op input: a tensor as it is; anything else as an array of this
        tensor's dtype, as TF converts Python numbers (``x + 0.1`` on float32 adds a
        float32 0.1). Refused (TypeError) where TF refuses: a value an integer or bool
        tensor cannot hold exactly, a complex value for a real tensor, text for a number."""
        if isinstance(value, RemoteTensor):
            return value
        array = np.asarray(value)
        dtype = self.dtype
        if dtype is None or array.dtype == dtype or dtype.kind == "O" or array.dtype.kind == "O":
            return array
        if array.dtype.kind in _CONVERTIBLE.get(dtype.kind, ""):
            with np.errstate(all="ignore"):
                converted = array.astype(dtype)
            # Into integers, only what they hold exactly (no 2.5, no 2**40 in int32).
            if dtype.kind in "fc" or np.array_equal(converted, array):
                return converted
        raise TypeError(
            f"cannot convert {value!r} to a {dtype} tensor without changing it (TF refuses "
            "too): cast one side first (tensor.astype(...) or np.asarray(..., dtype))"
        )


# The NumPy kinds of values each kind of tensor takes (b: bool, iu: integers, f: floats,
# c: complex).
_CONVERTIBLE = {"b": "b", "i": "biuf", "u": "biuf", "f": "biuf", "c": "biufc"}


def _shape_of(value: Any) -> Shape:
    return value.shape if isinstance(value, RemoteTensor | np.ndarray) else None


def _broadcast(a: Shape, b: Shape) -> Shape:
    """NumPy's broadcast of two shapes, with -1 where a dim is not known yet."""
    if a is None or b is None:
        return None
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + a
    b = (1,) * (rank - len(b)) + b
    return tuple(y if x == 1 else x if y == 1 else x if x == y else -1
                 for x, y in zip(a, b, strict=True))


def _reshaped(shape: Shape, wanted: tuple[int, ...]) -> Shape:
    if -1 not in wanted:
        return wanted
    if shape is None or -1 in shape:
        return wanted
    known = int(np.prod([d for d in wanted if d != -1]))
    total = int(np.prod(shape))
    if known == 0 or total % known:
        return wanted  # the worker will say what is wrong
    return tuple(total // known if d == -1 else d for d in wanted)


def _sliced(shape: Shape, key: Any) -> Shape:
    """The shape ``key`` leaves, where every dim is known (else None)."""
    if shape is None or -1 in shape:
        return None
    try:
        sliced: tuple[int, ...] = np.broadcast_to(np.empty((), np.bool_), shape)[key].shape
    except IndexError:
        return None  # the worker answers it, with TF's words
    return sliced


def _strided_slice(key: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """StridedSlice's begin, end, strides and masks for a NumPy basic index ``key``."""
    items = key if isinstance(key, tuple) else (key,)
    begin, end, strides = [], [], []
    masks = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
             "shrink_axis_mask": 0}
    for position, item in enumerate(items):
        bit = 1 << position
        start, stop, step = 0, 0, 1
        if item is Ellipsis:
            masks["ellipsis_mask"] |= bit
        elif item is None:
            masks["new_axis_mask"] |= bit
        elif isinstance(item, slice):
            step = 1 if item.step is None else operator.index(item.step)
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if item.start is None:
                masks["begin_mask"] |= bit
            else:
                start = operator.index(item.start)
            if item.stop is None:
                masks["end_mask"] |= bit
            else:
                stop = operator.index(item.stop)
        else:
            try:
                start = operator.index(item)
            except TypeError:
                raise TypeError(
                    f"a RemoteTensor index takes ints, slices, None and ...; got {item!r}"
                ) from None
            stop = start + 1
            masks["shrink_axis_mask"] |= bit
        begin.append(start)
        end.append(stop)
        strides.append(step)
    dtype = np.int64 if any(abs(v) >= 2**31 - 1 for v in (*begin, *end)) else np.int32
    return (np.asarray(begin, dtype), np.asarray(end, dtype), np.asarray(strides, dtype), masks)
