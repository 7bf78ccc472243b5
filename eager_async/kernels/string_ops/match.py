"""RegexFullMatch and StaticRegexFullMatch: whether the whole of each string matches an
RE2 pattern (translated by ``re2``), as RE2's ``FullMatch`` answers.

Where TF differs from Python's ``re.fullmatch`` on the same text, ``re2`` keeps RE2's
syntax and meaning (``$`` is the end of the text, ``\\d \\w \\s`` are ASCII, ``.`` stops at
a newline); a string that is not UTF-8 never matches in full (no class or ``.``
matches its bad bytes; RE2's ``\\C`` would, but ``re2`` does not translate it). A bad
pattern fails the op even when there is no string to match.

>>> static_regex_full_match(np.array([b"a1", b"a1b"], dtype=object), pattern=rb"a\\d")
array([ True, False])
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import BOOL, STRING, shape_str
from ..registry import op, same_shape
from ..specs import Shape, TensorSpec
from ._common import map_elements
from .re2 import Regex, compile_re2


def _full_match(input: np.ndarray, regex: Regex) -> np.ndarray:
    def matches(s: bytes) -> bool:
        return regex.compiled.fullmatch(s.decode("utf-8", errors="surrogateescape")) is not None

    return map_elements(matches, input, BOOL)


def _regex_rule(input: TensorSpec, pattern: TensorSpec) -> Shape:
    if pattern.shape is not None and pattern.shape != ():
        raise InvalidArgumentError(
            f"Pattern must be scalar, but received {shape_str(pattern.shape)}"
        )
    return input.shape


@op("RegexFullMatch", shape=_regex_rule)
def regex_full_match(input: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """Whether each string matches the RE2 ``pattern`` (a scalar tensor) in full."""
    _regex_rule(TensorSpec(STRING, input.shape), TensorSpec(STRING, pattern.shape))
    return _full_match(input, compile_re2(pattern.item()))


def _static_rule(input: TensorSpec, *, pattern: bytes) -> Shape:
    compile_re2(pattern)
    return same_shape(input)


@op("StaticRegexFullMatch", shape=_static_rule)
def static_regex_full_match(input: np.ndarray, *, pattern: bytes) -> np.ndarray:
    """RegexFullMatch with the pattern as an attr."""
    return _full_match(input, compile_re2(pattern))
