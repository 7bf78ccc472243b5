"""GeneratorDataset: elements made by functions. Per iterator, ``init_func`` makes a state
on the first pull, then each pull is ``next_func(*state)`` until that raises OUT_OF_RANGE,
which ends the sequence after ``finalize_func(*state)``; each function also gets its
captured inputs (``*_other_args``) after the state.

TF's client sends it for the per-device datasets of a multi-device iterator, whose
functions RemoteCall the source device (``multi_device_iterator_ops``). As in TF:

- each iterator has its own state and its own instance of the functions;
- an error of ``init_func`` is raised and the next pull runs it again; an error of
  ``next_func`` is that pull's error and the next pull runs it again; an error of
  ``finalize_func`` is raised and the sequence is not over (the next pull runs
  ``next_func``, and so ``finalize_func``, again);
- errors pass as the functions raise them, without the prefix map's errors get;
- captured inputs past a function's arguments are not passed to it (TF's client appends a
  multi-device iterator's handle there only to keep the iterator alive);
- the cardinality is unknown.

TF also runs ``finalize_func`` when it destroys an iterator that has run ``init_func``
but not reached the end; an iterator here is dropped without that call.

>>> generator_dataset([np.int64(3)], [], [], init_func=FuncAttr("Start"),
...     next_func=FuncAttr("Step"), finalize_func=FuncAttr("Stop"),
...     output_types=[np.dtype(np.int64)], output_shapes=[()], env=env)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...attrs import FuncAttr
from ...errors import OutOfRangeError
from ..registry import op
from ..specs import Shape
from .datasets import Dataset, Element, Iterator, scalar, variant

__all__ = ["GeneratorDataset", "GeneratorFunction"]


class GeneratorFunction:
    """One of a generator's functions with its captured inputs, resolved in the context
    its op ran in."""

    def __init__(self, func: FuncAttr, captured: Sequence[np.ndarray], env: Any) -> None:
        self.func = func
        self.captured = tuple(captured)
        self._kernel = env.function(func.name)
        self._arity = len(self._kernel.spec.inputs)

    def instance(self, env: Any) -> GeneratorFunction:
        """The function as an iterator runs it, in ``env`` (the iterator's own instance)."""
        return GeneratorFunction(self.func, self.captured, env)

    def __call__(self, *state: np.ndarray) -> list[np.ndarray]:
        # Captured inputs past the function's arguments are left unread, as TF's call
        # frame leaves them: TF's client captures a multi-device iterator's handle there
        # only to keep it alive.
        args = [*state, *self.captured][: max(self._arity, len(state))]
        results: list[np.ndarray] = self._kernel.run(args, self.func.attrs)
        return results


class GeneratorDataset(Dataset):
    """The elements ``next_func`` makes from the state ``init_func`` made."""

    def __init__(self, init: GeneratorFunction, next: GeneratorFunction,
                 finalize: GeneratorFunction, types: Sequence[np.dtype],
                 shapes: Sequence[Shape], env: Any) -> None:  # fmt: skip
        super().__init__(types, shapes)
        self.functions = (init, next, finalize)
        self._env = env

    def iterate(self) -> Iterator:
        env = self._env.instance()
        init, step, finalize = (f.instance(env) for f in self.functions)
        return _Generated(init, step, finalize)


class _Generated(Iterator):
    def __init__(self, init: GeneratorFunction, step: GeneratorFunction,
                 finalize: GeneratorFunction) -> None:  # fmt: skip
        self.init, self.step, self.finalize = init, step, finalize
        self.state: list[np.ndarray] | None = None

    def _next(self) -> Element | None:
        if self.state is None:
            self.state = self.init()
        try:
            return tuple(self.step(*self.state))
        except OutOfRangeError:
            self.finalize(*self.state)  # its outputs are ignored, as in TF
            return None


def _functions_rule(
    *args: Any, init_func: FuncAttr, next_func: FuncAttr, finalize_func: FuncAttr, env: Any
) -> Shape:
    """The functions must exist (NOT_FOUND when the op runs, not at the first pull)."""
    for func in (init_func, next_func, finalize_func):
        env.function(func.name)
    return scalar()


@op("GeneratorDataset", shape=_functions_rule)
def generator_dataset(
    init_func_other_args: list[np.ndarray], next_func_other_args: list[np.ndarray],
    finalize_func_other_args: list[np.ndarray], *, init_func: FuncAttr, next_func: FuncAttr,
    finalize_func: FuncAttr, output_types: list[np.dtype], output_shapes: list[Shape],
    env: Any,
) -> np.ndarray:  # fmt: skip
    """A dataset of what ``next_func`` returns, pull after pull, until OUT_OF_RANGE."""
    init = GeneratorFunction(init_func, init_func_other_args, env)
    step = GeneratorFunction(next_func, next_func_other_args, env)
    finalize = GeneratorFunction(finalize_func, finalize_func_other_args, env)
    return variant(GeneratorDataset(init, step, finalize, output_types, output_shapes, env))
