"""Einsum: a contraction of one or two tensors written as an equation (``b'ij,jk->ik'``).

TF's rules, where NumPy's ``einsum`` differs:

- every character but '.' is a label (a space, a digit too), and '...' stands for the
  broadcast batch dims;
- a label repeated in the output puts the values on that diagonal, zeros elsewhere
  (NumPy refuses it);
- an output label no input has is refused here: TF crashes or returns the wrong rank;
- half types are summed in float32 and rounded once.

>>> einsum([np.int32([[1, 2], [3, 4]])], equation=b"ii->i")
array([1, 4], dtype=int32)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import broadcast, known_shape, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import widen

__all__ = ["einsum"]

_ELLIPSIS = "..."
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse(equation: bytes, n_inputs: int) -> tuple[list[str], str]:
    """The input subscripts and the output subscript; TF's rules, TF's messages."""
    try:
        eq = equation.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"Einsum equation {equation!r} is not ASCII") from None
    sides = eq.split("->")
    if len(sides) != 2:
        raise InvalidArgumentError(f"Expecting exactly one '->' in einsum equation: {eq}")
    subscripts, output = sides[0].split(","), sides[1]
    if len(subscripts) not in (1, 2):
        raise InvalidArgumentError(
            f"Expecting 1 or 2 input subscripts in equation '{eq}' but got: {len(subscripts)}"
        )
    if len(subscripts) != n_inputs:
        raise InvalidArgumentError(
            f"Einsum equation '{eq}' has {len(subscripts)} input subscripts "
            f"but the op got {n_inputs} inputs"
        )
    for sub in (*subscripts, output):
        if "." in sub.replace(_ELLIPSIS, "", 1):
            raise InvalidArgumentError(
                f"Einsum equation '{eq}': subscript '{sub}' may hold '.' only in one '...'"
            )
    for c in output.replace(_ELLIPSIS, ""):
        if not any(c in sub for sub in subscripts):
            raise InvalidArgumentError(
                f"Einsum output subscripts for equation '{eq}' has label '{c}' "
                "which is not present in the input subscripts"
            )
    return subscripts, output


def _output(equation: bytes, shapes: Sequence[Shape]) -> Shape:
    """Each output label's size, the ellipsis dims broadcast."""
    subscripts, output = _parse(equation, len(shapes))
    sizes: dict[str, int] = {}
    batch: Shape = ()
    for i, (sub, shape) in enumerate(zip(subscripts, shapes, strict=True)):
        labels = sub.replace(_ELLIPSIS, "")
        at = sub.find(_ELLIPSIS)
        if shape is None:
            batch = None if at >= 0 else batch
            for label in labels:
                sizes.setdefault(label, -1)
            continue
        if len(shape) < len(labels) or (len(shape) > len(labels) and at < 0):
            want = f"at least {len(labels)}" if at >= 0 else str(len(labels))
            raise InvalidArgumentError(
                f"Expected input {i} to have rank {want} but got: {len(shape)} "
                f"(subscripts '{sub}', shape {shape_str(shape)})"
            )
        n_ellipsis = len(shape) - len(labels)
        if at >= 0:
            batch = broadcast(batch, shape[at : at + n_ellipsis])
        dims = shape[:at] + shape[at + n_ellipsis :] if at >= 0 else shape
        for label, d in zip(labels, dims, strict=True):
            known = sizes.get(label, -1)
            if known >= 0 and d >= 0 and known != d:
                raise InvalidArgumentError(
                    f"Einsum: label '{label}' has size {known} in one place and {d} in "
                    f"another (input {i}, shape {shape_str(shape)})"
                )
            sizes[label] = known if known >= 0 else d
    if batch is None:
        return None
    if _ELLIPSIS not in output and batch:
        raise InvalidArgumentError(
            f"Einsum: output subscripts '{output}' need '...': the inputs' ellipsis "
            "covers dimensions that must appear in the output"
        )
    before, _, after = output.partition(_ELLIPSIS)
    ellipsis = batch if _ELLIPSIS in output else ()
    return (*(sizes[c] for c in before), *ellipsis, *(sizes[c] for c in after))


def _einsum_shape(inputs: list[TensorSpec], *, equation: bytes) -> Shape:
    return _output(equation, [x.shape for x in inputs])


@op("Einsum", shape=_einsum_shape)
def einsum(inputs: list[np.ndarray], *, equation: bytes) -> np.ndarray:
    """The contraction ``equation`` names, of one or two inputs."""
    shape = known_shape(_output(equation, [x.shape for x in inputs]))
    subscripts, output = _parse(equation, len(inputs))
    labels = sorted(set("".join(subscripts).replace(_ELLIPSIS, "")))
    if len(labels) > len(_LETTERS):
        raise InvalidArgumentError(f"Einsum takes at most {len(_LETTERS)} distinct labels")
    letters = str.maketrans(dict(zip(labels, _LETTERS, strict=False)))
    ins = [sub.translate(letters) for sub in subscripts]
    out_sub = output.translate(letters)
    distinct = "".join(dict.fromkeys(out_sub.replace(_ELLIPSIS, "."))).replace(".", _ELLIPSIS)
    with np.errstate(all="ignore"):
        result = np.einsum(f"{','.join(ins)}->{distinct}", *(widen(x) for x in inputs))
    dtype = inputs[0].dtype
    if distinct == out_sub:
        return np.asarray(result, dtype=dtype)
    inflated = np.zeros(shape, dtype=dtype)
    # einsum with a repeated input label returns a writable view of that diagonal.
    np.einsum(f"{out_sub}->{distinct}", inflated)[...] = result
    return inflated
