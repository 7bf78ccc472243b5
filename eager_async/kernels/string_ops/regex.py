"""RegexReplace and StaticRegexReplace: matches of an RE2 pattern (translated by ``re2``)
replaced as RE2's ``GlobalReplace`` and ``Replace`` replace them.

Where TF differs from Python's ``re.sub``:

- a global replace skips an empty match right after the previous match;
- the rewrite knows only ``\\0``-``\\9`` and ``\\\\``, and an invalid rewrite replaces up to
  the bad escape (global) or not at all (first match); a rewrite naming a group the
  pattern does not have leaves the text as it is.

>>> static_regex_replace(np.array([b"a1b22"], dtype=object), pattern=rb"\\d+",
...                      rewrite=b"<\\\\0>", replace_global=True)
array([b'a<1>b<22>'], dtype=object)
"""

from __future__ import annotations

import re

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import STRING, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import map_elements
from .re2 import Regex, compile_re2


def _rewrite(rewrite: str) -> tuple[list[str | int], bool, int]:
    """RE2's rewrite string: literal text and group numbers up to the first bad escape,
    whether it has none, and the highest group it names anywhere (RE2's MaxSubmatch)."""
    parts: list[str | int] = []
    valid, highest, at = True, 0, 0
    while at < len(rewrite):
        c = rewrite[at]
        nxt = rewrite[at + 1] if at + 1 < len(rewrite) else ""
        if c != "\\":
            parts.append(c) if valid else None
            at += 1
            continue
        if nxt.isdigit() and nxt.isascii():
            highest = max(highest, int(nxt))
            parts.append(int(nxt)) if valid else None
        elif nxt == "\\":
            parts.append("\\") if valid else None
        else:
            valid = False
        at += 2
    return parts, valid, highest


def _replace(text: bytes, regex: Regex, rewrite: bytes, replace_global: bool) -> bytes:
    """RE2's GlobalReplace or Replace of ``text``."""
    parts, valid, highest = _rewrite(rewrite.decode("utf-8", errors="surrogateescape"))
    if highest > regex.groups:  # RE2 refuses the rewrite and leaves the text as is
        return text
    s = text.decode("utf-8", errors="surrogateescape")

    def rewritten(found: re.Match[str]) -> str:
        return "".join(p if isinstance(p, str) else found.group(p) or "" for p in parts)

    if not replace_global:
        found = regex.compiled.search(s)
        if found is None or not valid:
            return text
        s = s[: found.start()] + rewritten(found) + s[found.end() :]
        return s.encode("utf-8", errors="surrogateescape")
    out: list[str] = []
    at, last_end, count = 0, -1, 0
    while at <= len(s):
        found = regex.compiled.search(s, at)
        if found is None:
            break
        out.append(s[at : found.start()])
        if found.start() == found.end() == last_end:
            # No empty match where the previous match ended: step over one character.
            out.append(s[at : at + 1])
            at += 1
            continue
        out.append(rewritten(found))
        at = last_end = found.end()
        count += 1
    if count == 0:
        return text
    out.append(s[at:])
    return "".join(out).encode("utf-8", errors="surrogateescape")


def _regex_rule(
    input: TensorSpec, pattern: TensorSpec, rewrite: TensorSpec, *, replace_global: bool
) -> Shape:
    for name, spec in (("Pattern", pattern), ("Rewrite", rewrite)):
        if spec.shape is not None and spec.shape != ():
            raise InvalidArgumentError(
                f"{name} must be scalar, but received {shape_str(spec.shape)}"
            )
    return input.shape


@op("RegexReplace", shape=_regex_rule)
def regex_replace(
    input: np.ndarray, pattern: np.ndarray, rewrite: np.ndarray, *, replace_global: bool
) -> np.ndarray:
    """Matches of the RE2 ``pattern`` replaced by ``rewrite`` (``\\1`` names a group):
    every match, or the first with ``replace_global`` false."""
    _regex_rule(TensorSpec(STRING, input.shape), TensorSpec(STRING, pattern.shape),
                TensorSpec(STRING, rewrite.shape), replace_global=replace_global)  # fmt: skip
    regex, new = compile_re2(pattern.item()), rewrite.item()
    return map_elements(lambda s: _replace(s, regex, new, replace_global), input)


def _static_regex_rule(
    input: TensorSpec, *, pattern: bytes, rewrite: bytes, replace_global: bool
) -> Shape:
    compile_re2(pattern)
    return input.shape


@op("StaticRegexReplace", shape=_static_regex_rule)
def static_regex_replace(
    input: np.ndarray, *, pattern: bytes, rewrite: bytes, replace_global: bool
) -> np.ndarray:
    """RegexReplace with the pattern and rewrite as attrs."""
    regex = compile_re2(pattern)
    return map_elements(lambda s: _replace(s, regex, rewrite, replace_global), input)
