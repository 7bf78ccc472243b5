"""RE2's regular expression syntax, translated to Python's ``re`` (``_Re2``) with RE2's
parse errors, and compiled (``compile_re2``); the ops that use it are in ``regex``.

Where RE2 differs from Python's ``re``, as the translation keeps it: ``$`` is the end of
the text, ``\\d \\s \\w \\b`` are ASCII, bytes that are not UTF-8 match nothing but an
empty pattern (they decode to lone surrogates, which no class or ``.`` matches); flags
``(?imsU)`` apply to the rest of the enclosing group; counted repetitions nest to at most
1000.

Not translated from RE2: ``\\C`` (one byte) and ``\\p`` scripts (``\\p{Greek}``; general
categories such as ``\\p{Lu}`` are) raise UNIMPLEMENTED. Known differences that remain: RE2
also finds an empty match of ``\\B`` between the bytes of one multi-byte character (never
tried here); a repeated group that can match empty (``(a*)*``) captures Python's empty last
round where RE2 keeps the last non-empty one; Python's ``re`` backtracks, so a
pathological pattern can take exponential time where RE2 takes linear time.

>>> compile_re2(rb"(\\w+)@").compiled.search("tom@x")[1]
'tom'
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from dataclasses import dataclass

from ...errors import InvalidArgumentError, UnimplementedError
from ._common import shown

Ranges = list[tuple[int, int]]
_INVALID = (0xDC80, 0xDCFF)  # bytes that are not UTF-8, as "surrogateescape" decodes them
_WORD: Ranges = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
_PERL: dict[str, Ranges] = {"d": [(0x30, 0x39)], "s": [(9, 10), (12, 13), (32, 32)], "w": _WORD}
_POSIX: dict[str, Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)], "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0, 0x7F)], "blank": [(9, 9), (32, 32)], "cntrl": [(0, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)], "graph": [(0x21, 0x7E)], "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)], "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(9, 13), (32, 32)], "upper": [(0x41, 0x5A)], "word": _WORD,
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}  # fmt: skip
_SIMPLE = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
_W = "[0-9A-Za-z_]"
_ASSERTIONS = {
    "A": r"\A", "z": r"\Z",
    "b": f"(?:(?<={_W})(?!{_W})|(?<!{_W})(?={_W}))",
    "B": f"(?:(?<={_W})(?={_W})|(?<!{_W})(?!{_W}))",
}  # fmt: skip
_REPEAT = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


def _char(code: int) -> str:
    return chr(code) if code < 128 and chr(code).isalnum() else f"\\U{code:08x}"


def _items(ranges: Ranges) -> str:
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)


def _complement(ranges: Ranges) -> Ranges:
    out, low = [], 0
    for a, b in sorted([*ranges, _INVALID]):
        if a > low:
            out.append((low, a - 1))
        low = max(low, b + 1)
    return [*out, (low, 0x10FFFF)] if low <= 0x10FFFF else out


class _Re2:
    """A recursive-descent reader of RE2 syntax writing the same regexp for Python's re,
    with RE2's parse errors.

    Flags ``imsU`` are tracked here and written into each atom (``(?i:x)``, ``\\A`` for
    ``^``, ...), since Python takes global flags only at the start of a pattern."""

    def __init__(self, pattern: str) -> None:
        self.text, self.at, self.groups = pattern, 0, 0

    def error(self, what: str, arg: str | None = None) -> InvalidArgumentError:
        shown = what if arg is None else f"{what}: {arg}"
        return InvalidArgumentError(f"Invalid pattern: {self.text}, error: {shown}")

    def peek(self, offset: int = 0) -> str:
        at = self.at + offset
        return self.text[at] if at < len(self.text) else ""

    def translate(self) -> str:
        out, _ = self.body("")
        if self.at < len(self.text):
            raise self.error("unexpected )", self.text)
        return out

    def body(self, flags: str) -> tuple[str, int]:
        """Alternatives up to a ``)`` or the end, and the largest product of counted
        repetitions nested in them (RE2 refuses more than 1000)."""
        branches: list[list[str]] = [[]]
        state = [flags]
        size = 1  # of the last atom
        last, largest, prev = "", 1, ""  # last: "atom", "repeated" or ""
        while self.at < len(self.text) and self.peek() != ")":
            if self.peek() == "|":
                self.at += 1
                branches.append([])
                last = ""
                continue
            repeat = self.repetition()
            if repeat is not None:
                text, base, greedy, count = repeat
                if not last:
                    raise self.error("no argument for repetition operator", text)
                if last == "repeated":
                    raise self.error("bad repetition operator", prev + text)
                size *= max(count, 1)
                if size > 1000:
                    raise self.error("invalid repetition size", text)
                greedy = greedy != ("U" in state[0])  # (?U) swaps greedy and lazy
                branches[-1][-1] = f"(?:{branches[-1][-1]}){base}{'' if greedy else '?'}"
                last, prev, largest = "repeated", text, max(largest, size)
                continue
            atom = self.atom(state)
            if atom is not None:
                (text, size), last = atom, "atom"
                branches[-1].append(text)
                largest = max(largest, size)
        return "|".join("".join(pieces) for pieces in branches), largest

    def repetition(self) -> tuple[str, str, bool, int] | None:
        """A repetition operator here, consumed: its text, the operator without the lazy
        ``?``, whether it is greedy, and its count (0 for ``*+?``); None when none."""
        c, count = self.peek(), 0
        if c in ("*", "+", "?") and c:
            base = c
        elif c == "{" and (found := _REPEAT.match(self.text, self.at)):
            base = found[0]
            low = int(found[1])
            high = low if not found[2] else int(found[3]) if found[3] else None
            if low > 1000 or (high is not None and (high > 1000 or high < low)):
                raise self.error("invalid repetition size", base)
            count = low if high is None else high
        else:
            return None
        self.at += len(base)
        if self.peek() == "?":
            self.at += 1
            return base + "?", base, False, count
        return base, base, True, count

    def atom(self, state: list[str]) -> tuple[str, int] | None:
        """The next atom and its repetition product; None for a flag group ``(?i)``."""
        flags = state[0]
        c = self.peek()
        self.at += 1
        if c == "(":
            return self.group(state)
        if c == "[":
            return self.folded(self.char_class(), flags), 1
        if c == ".":
            return ("[^\\n\\udc80-\\udcff]" if "s" not in flags else "[^\\udc80-\\udcff]"), 1
        if c == "^":
            return ("(?m:^)" if "m" in flags else r"\A"), 1
        if c == "$":
            return ("(?m:$)" if "m" in flags else r"\Z"), 1
        if c == "\\":
            escaped = self.escape(in_class=False)
            if isinstance(escaped, str):
                return escaped, 1
            return self.folded(self.positive(escaped), flags), 1
        return self.folded(_char(ord(c)), flags), 1

    @staticmethod
    def folded(atom: str, flags: str) -> str:
        return f"(?i:{atom})" if "i" in flags else atom

    @staticmethod
    def positive(ranges: Ranges) -> str:
        return f"[{_items(ranges)}]" if ranges else "(?!)"

    def group(self, state: list[str]) -> tuple[str, int] | None:
        start, flags, prefix = self.at - 1, state[0], "("
        if self.peek() == "?":
            self.at += 1
            if self.text.startswith("P<", self.at):
                end = self.text.find(">", self.at)
                name = self.text[self.at + 2 : end] if end > 0 else ""
                if end < 0 or not re.fullmatch(r"\w+", name, re.ASCII):
                    shown = self.text[start : end + 1] if end > 0 else self.text[start:]
                    raise self.error("invalid named capture group", shown)
                self.at = end + 1
            else:
                flags, scoped = self.flags(start, flags)
                if not scoped:  # (?i): the rest of the enclosing group
                    state[0] = flags
                    return None
                prefix = "(?:"
        if prefix == "(":
            self.groups += 1
        inner, size = self.body(flags)
        if self.peek() != ")":
            raise self.error("missing )", self.text)
        self.at += 1
        return prefix + inner + ")", size

    def flags(self, start: int, flags: str) -> tuple[str, bool]:
        """``(?flags)`` or ``(?flags:``, read from after the ``?``: the new flags, and
        whether a group follows."""
        on, off, negated = "", "", False
        while True:
            c = self.peek()
            self.at += 1
            if c and c in "imsU":
                off, on = (off + c, on) if negated else (off, on + c)
            elif c == "-" and not negated:
                negated = True
            elif c in (":", ")") and c and not (negated and not off):
                return "".join(f for f in flags + on if f not in off), c == ":"
            else:
                raise self.error("invalid perl operator", self.text[start : self.at])

    def escape(self, in_class: bool) -> Ranges | str:
        """The escape after a backslash: a set of characters, or (outside a class) an
        assertion or a literal run (``\\Q...\\E``) as Python regexp text."""
        start = self.at - 1
        c = self.peek()
        if not c:
            raise self.error("trailing \\")
        self.at += 1
        if c in "01234567" and (c == "0" or (self.peek() and self.peek() in "01234567")):
            digits = c
            while len(digits) < 3 and self.peek() and self.peek() in "01234567":
                digits += self.peek()
                self.at += 1
            return [(int(digits, 8), int(digits, 8))]
        if c == "x":
            code = self.hex_escape(start)
            return [(code, code)]
        if c in _SIMPLE:
            return [(_SIMPLE[c], _SIMPLE[c])]
        if c.lower() in _PERL:
            ranges = _PERL[c.lower()]
            return _complement(ranges) if c.isupper() else ranges
        if c in "pP":
            return self.unicode_class(negated=c == "P")
        if c == "C":
            raise UnimplementedError(
                "RegexReplace: RE2's \\C (any single byte) has no translation to Python's re "
                "in eager_async; match whole characters instead"
            )
        if not in_class and c in _ASSERTIONS:
            return _ASSERTIONS[c]
        if not in_class and c == "Q":
            end = self.text.find("\\E", self.at)
            end = len(self.text) if end < 0 else end
            literal, self.at = self.text[self.at : end], min(end + 2, len(self.text))
            return "".join(_char(ord(ch)) for ch in literal)
        if ord(c) < 128 and not c.isalnum():
            return [(ord(c), ord(c))]
        raise self.error("invalid escape sequence", "\\" + c)

    def hex_escape(self, start: int) -> int:
        """``\\xHH`` or ``\\x{H...}``, read from after the ``x``."""
        digits, braced = "", self.peek() == "{"
        self.at += braced
        while self.peek() and self.peek() in string.hexdigits and (braced or len(digits) < 2):
            digits += self.peek()
            self.at += 1
        closed = not braced or self.peek() == "}"
        if digits and closed and (braced or len(digits) == 2):
            if int(digits, 16) <= 0x10FFFF:
                self.at += braced
                return int(digits, 16)
            raise self.error("invalid escape sequence", self.text[start : self.at])
        raise self.error("invalid escape sequence", self.text[start : self.at + 1])

    def unicode_class(self, negated: bool) -> Ranges:
        """``\\pL``, ``\\p{Lu}``, ``\\p{^L}``, ``\\p{Any}``: Unicode general categories."""
        start = self.at - 2
        if self.peek() == "{":
            end = self.text.find("}", self.at)
            if end < 0:
                raise self.error("invalid character class range", self.text[start:])
            name, self.at = self.text[self.at + 1 : end], end + 1
        else:
            name, self.at = self.peek(), self.at + 1
        if name.startswith("^"):
            name, negated = name[1:], not negated
        categories = _categories()
        if name not in categories:
            if len(name) <= 2 and name != "Yi":  # RE2's other names are scripts
                raise self.error("invalid character class range", self.text[start : self.at])
            raise UnimplementedError(
                f"RegexReplace: {self.text[start : self.at]} is a Unicode script; eager_async "
                "translates only general categories (\\p{Lu}, \\pN, ...) to Python's re"
            )
        return _complement(categories[name]) if negated else categories[name]

    def char_class(self) -> str:
        start = self.at - 1
        negated = self.peek() == "^"
        self.at += negated
        ranges: Ranges = []
        first = True
        while first or self.peek() != "]":
            if not self.peek():
                raise self.error("missing ]", self.text[start:])
            first = False
            posix = re.compile(r"\[:(\^?)([a-z]+):\]").match(self.text, self.at)
            if posix:
                if posix[2] not in _POSIX:
                    raise self.error("invalid character class range", posix[0])
                self.at = posix.end()
                found = _POSIX[posix[2]]
                ranges += _complement(found) if posix[1] else found
                continue
            low = self.class_char()
            if isinstance(low, list):
                ranges += low
            elif self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.at += 1
                at = self.at
                high = self.class_char()
                if isinstance(high, list):
                    raise self.error("invalid escape sequence", self.text[at : self.at])
                if high < low:
                    raise self.error("invalid character class range", f"{chr(low)}-{chr(high)}")
                ranges.append((low, high))
            else:
                ranges.append((low, low))
        self.at += 1
        if negated:
            return f"[^{_items(ranges)}\\udc80-\\udcff]"
        return self.positive(ranges)

    def class_char(self) -> int | Ranges:
        c = self.peek()
        self.at += 1
        if c != "\\":
            return ord(c)
        escaped = self.escape(in_class=True)
        assert not isinstance(escaped, str)
        return escaped[0][0] if len(escaped) == 1 and escaped[0][0] == escaped[0][1] else escaped


@functools.cache
def _categories() -> dict[str, Ranges]:
    """Each Unicode general category (``Lu``, and ``L`` for all ``L*``, as RE2 groups
    them: ``C`` without unassigned ``Cn``) and ``Any``, as code point ranges."""
    found: dict[str, Ranges] = {}
    for code in range(0x110000):
        if _INVALID[0] <= code <= _INVALID[1]:
            continue
        name = unicodedata.category(chr(code))
        if name == "Cn":
            continue
        for key in (name, name[0]):
            ranges = found.setdefault(key, [])
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return {**found, "Any": [(0, _INVALID[0] - 1), (_INVALID[1] + 1, 0x10FFFF)]}


@dataclass(frozen=True, slots=True)
class Regex:
    """A translated pattern, compiled, and how many groups it captures (a rewrite naming
    more is refused)."""

    compiled: re.Pattern[str]
    groups: int


@functools.lru_cache(maxsize=256)
def compile_re2(pattern: bytes) -> Regex:
    """RE2 ``pattern`` compiled for Python's re (cached: a pattern is usually reused)."""
    try:
        text = pattern.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(
            f"Invalid pattern: {shown(pattern)}, error: invalid UTF-8"
        ) from None
    reader = _Re2(text)
    translated = reader.translate()
    try:
        return Regex(re.compile(translated), reader.groups)
    except re.error as exc:
        raise InvalidArgumentError(f"Invalid pattern: {text}, error: {exc}") from None
