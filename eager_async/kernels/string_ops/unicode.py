"""Strings as Unicode code points: UnicodeDecode, UnicodeDecodeWithOffsets (each string
into a row of code points, as a ragged tensor's ``row_splits`` and flat values),
UnicodeEncode (rows of code points into strings) and UnicodeTranscode.

TF converts with ICU, which differs from Python's codecs used plainly:

- a malformed sequence is one error (a maximal ill-formed subsequence in UTF-8; a lone
  surrogate or a truncated unit in UTF-16/32; a code point past U+10FFFF in UTF-32; a
  code point that is negative, past U+10FFFF or a surrogate for UnicodeEncode):
  ``errors`` "replace" writes ``replacement_char`` for it, "ignore" drops it, "strict"
  fails the op. A decoded character's offset is the byte where it starts; a replaced
  error's, the byte where the error starts;
- ``replace_control_characters`` treats U+0000-U+001F as errors, except that
  UnicodeDecode with "strict" replaces them rather than failing;
- ``replacement_char`` may be any value in [0, 0x10FFFF], a surrogate included: decoding
  returns it as it is, UTF-16 and UTF-32 write it raw, UTF-8 writes U+FFFD for it;
- a BOM is a character (U+FEFF), never stripped;
- encoding names match as ICU matches them (case, punctuation and leading zeros
  ignored: ``utf8``, ``UTF-16BE``, ``latin1``). Built here: UTF-8, UTF-16BE/LE,
  UTF-32BE/LE, ISO-8859-1 and US-ASCII; ICU's other converters (the BOM-sniffing
  "UTF-16" and "UTF-32", legacy code pages) are UNIMPLEMENTED.

>>> unicode_decode(np.array([b"h\\xc3\\xa9", b"\\xff"], dtype=object), input_encoding=b"UTF-8",
...                errors=b"replace", replacement_char=0xFFFD,
...                replace_control_characters=False)
(array([0, 2, 3]), array([  104,   233, 65533], dtype=int32))
"""

from __future__ import annotations

import codecs
import itertools
import re
from dataclasses import dataclass

import numpy as np

from ...errors import InvalidArgumentError, UnimplementedError
from .._checks import INT32, INT64, num_elements
from ..registry import op, same_shape
from ..specs import Shape, TensorSpec
from ._common import map_elements, shown


@dataclass(frozen=True, slots=True)
class _Codec:
    """An encoding TF names, as Python's codec of it and its code unit in bytes."""

    python: str
    unit: int
    big_endian: bool = True


# ICU's names and some of its aliases of the encodings built here, as ICU compares names.
_ALIASES = {
    _Codec("utf-8", 1): "utf8 cp1208 ibm1208",
    _Codec("utf-16-be", 2): "utf16be xutf16be unicodebigunmarked ibm1200",
    _Codec("utf-16-le", 2, big_endian=False): "utf16le unicodelittleunmarked",
    _Codec("utf-32-be", 4): "utf32be utf32bigendian",
    _Codec("utf-32-le", 4, big_endian=False): "utf32le utf32littleendian",
    _Codec("latin-1", 1): "iso88591 latin1 l1 cp819 ibm819 88591 isoir100 csisolatin1",
    _Codec("ascii", 1): "usascii ascii us ansix341968 iso646us cp367 ibm367 csascii 646",
}
_CODECS = {name: codec for codec, names in _ALIASES.items() for name in names.split()}
_LAST = 0x10FFFF
_REPLACEMENT = 0xFFFD
_CHECKED_VALUES = 64  # the shape memo's limit on values in a key


def _codec(op: str, encoding: bytes, replacement_char: int) -> _Codec:
    """The input encoding, and TF's checks of the options, in TF's order."""
    if not 0 <= replacement_char <= _LAST:
        raise InvalidArgumentError("replacement_char out of unicode codepoint range")
    name = shown(encoding)
    # ICU ignores case, punctuation and leading zeros: "UTF-008" is "utf8".
    key = re.sub("(?<![0-9])0+(?=[0-9])", "", re.sub("[^0-9a-z]", "", name.lower()))
    codec = _CODECS.get(key)
    if codec is not None:
        return codec
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a name with a NUL in it
        raise InvalidArgumentError(
            f"Could not create converter for input encoding: {name}"
        ) from None
    raise UnimplementedError(
        f"{op}: eager_async converts UTF-8, UTF-16BE/LE, UTF-32BE/LE, ISO-8859-1 and "
        f"US-ASCII, not {name}; decode it on the client, or transcode it to UTF-8 first"
    )


def _starts(run: bytes, codec: _Codec) -> np.ndarray:
    """Where each character of well-formed ``run`` starts, in bytes."""
    if codec.python == "utf-8":
        return np.flatnonzero((np.frombuffer(run, np.uint8) & 0xC0) != 0x80)
    if codec.unit == 2:
        units = np.frombuffer(run, ">u2" if codec.big_endian else "<u2")
        return 2 * np.flatnonzero((units & 0xFC00) != 0xDC00)
    return codec.unit * np.arange(len(run) // codec.unit)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4").astype(np.int64)


def _decode(s: bytes, codec: _Codec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The code points of ``s``, where each starts, and which are errors (one per
    malformed sequence, its code point -1)."""
    decode = codecs.getdecoder(codec.python)
    view = memoryview(s)
    points, starts, bad = [], [], []
    at = 0
    while True:
        try:
            text, _ = decode(view[at:])
        except UnicodeDecodeError as error:
            start, end = at + error.start, at + error.end
            text, _ = decode(view[at:start])
            points += [_code_points(text), np.array([-1])]
            starts += [at + _starts(s[at:start], codec), np.array([start])]
            bad += [np.zeros(len(text), bool), np.ones(1, bool)]
            at = end
            continue
        points.append(_code_points(text))
        starts.append(at + _starts(s[at:], codec))
        bad.append(np.zeros(len(text), bool))
        return np.concatenate(points), np.concatenate(starts), np.concatenate(bad)


def _apply_policy(
    points: np.ndarray, bad: np.ndarray, errors: bytes, replacement_char: int
) -> tuple[np.ndarray, np.ndarray]:
    """The code points with errors replaced, or which to keep (ignore)."""
    if bad.any():
        if errors == b"strict":
            raise InvalidArgumentError("Invalid formatting on input string")
        if errors == b"replace":
            points = np.where(bad, replacement_char, points)
    return points, ~bad if errors == b"ignore" else np.ones(len(points), bool)


def _decoded(
    s: bytes, codec: _Codec, errors: bytes, replacement_char: int, controls: bool,
    strict_controls: bool,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One string's code points after the error policy, and their byte offsets."""
    points, starts, bad = _decode(s, codec)
    if controls:
        control = ~bad & (points <= 0x1F)
        if strict_controls or errors != b"strict":
            bad = bad | control
        else:  # UnicodeDecode with "strict": controls replaced, never an error
            points = np.where(control, replacement_char, points)
    points, keep = _apply_policy(points, bad, errors, replacement_char)
    return points[keep], starts[keep]


def _decode_all(
    input: np.ndarray, codec: _Codec, errors: bytes, replacement_char: int,
    controls: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """``row_splits``, code points and byte offsets of every string of ``input``."""
    strings = input.reshape(-1).tolist()
    fast = _decode_well_formed(strings, codec)
    if fast is not None and not (controls and bool((fast[1] <= 0x1F).any())):
        return fast
    rows = [_decoded(s, codec, errors, replacement_char, controls, False) for s in strings]
    splits = np.zeros(len(rows) + 1, np.int64)
    np.cumsum([len(points) for points, _ in rows], out=splits[1:])
    points = np.concatenate([np.zeros(0, np.int64)] + [p for p, _ in rows]).astype(INT32)
    starts = np.concatenate([np.zeros(0, np.int64)] + [o for _, o in rows]).astype(INT64)
    return splits, points, starts


def _decode_well_formed(
    strings: list[bytes], codec: _Codec
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``_decode_all`` in one pass over the strings joined, when each is well-formed
    text in a byte-unit encoding (the common case); None otherwise."""
    if codec.unit != 1:
        return None
    joined = b"".join(strings)
    try:
        points = _code_points(joined.decode(codec.python))
    except UnicodeDecodeError:
        return None
    lengths = np.fromiter(map(len, strings), np.int64, len(strings))
    begins = np.zeros(len(strings) + 1, np.int64)
    np.cumsum(lengths, out=begins[1:])
    lead = (np.frombuffer(joined, np.uint8) & 0xC0) != 0x80
    if codec.python != "utf-8":
        lead[:] = True
    # Joined text can be well-formed where a string on its own is not: a character
    # split between two strings.
    if not lead[begins[:-1][lengths > 0]].all():
        return None
    leads = np.zeros(len(joined) + 1, np.int64)
    np.cumsum(lead, out=leads[1:])
    splits = leads[begins]
    rows = np.repeat(np.arange(len(strings)), np.diff(splits))
    return splits, points.astype(INT32), np.flatnonzero(lead) - begins[rows]


def _encoded(points: np.ndarray, encoding: bytes) -> bytes:
    """Code points (valid, or surrogates from ``replacement_char``) in ``encoding``."""
    if encoding == b"UTF-32-BE":
        return points.astype(">u4").tobytes()
    if encoding == b"UTF-8":  # ICU writes U+FFFD for a lone surrogate
        points = np.where((points & 0xFFFFF800) == 0xD800, _REPLACEMENT, points)
        return _text(points).encode("utf-8")
    return _text(points).encode("utf-16-be", "surrogatepass")


def _text(points: np.ndarray) -> str:
    return points.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


def _decode_rule(
    input: TensorSpec, *, input_encoding: bytes, errors: bytes, replacement_char: int,
    replace_control_characters: bool,
) -> tuple[Shape, Shape]:  # fmt: skip
    _codec("UnicodeDecode", input_encoding, replacement_char)
    n = num_elements(input.shape)
    return (-1 if n is None else n + 1,), (-1,)


@op("UnicodeDecode", shape=_decode_rule)
def unicode_decode(
    input: np.ndarray, *, input_encoding: bytes, errors: bytes, replacement_char: int,
    replace_control_characters: bool,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each string (of any shape, flattened) as a row of code points: ``row_splits``
    (one more than there are strings) and the flat ``char_values``."""
    codec = _codec("UnicodeDecode", input_encoding, replacement_char)
    splits, points, _ = _decode_all(input, codec, errors, replacement_char,
                                    replace_control_characters)  # fmt: skip
    return splits, points


def _offsets_rule(
    input: TensorSpec, *, input_encoding: bytes, errors: bytes, replacement_char: int,
    replace_control_characters: bool,
) -> tuple[Shape, Shape, Shape]:  # fmt: skip
    _codec("UnicodeDecodeWithOffsets", input_encoding, replacement_char)
    n = num_elements(input.shape)
    return (-1 if n is None else n + 1,), (-1,), (-1,)


@op("UnicodeDecodeWithOffsets", shape=_offsets_rule)
def unicode_decode_with_offsets(
    input: np.ndarray, *, input_encoding: bytes, errors: bytes, replacement_char: int,
    replace_control_characters: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """UnicodeDecode, and the byte where each character starts in its string."""
    codec = _codec("UnicodeDecodeWithOffsets", input_encoding, replacement_char)
    return _decode_all(input, codec, errors, replacement_char, replace_control_characters)


def _transcode_rule(
    input: TensorSpec, *, input_encoding: bytes, output_encoding: bytes, errors: bytes,
    replacement_char: int, replace_control_characters: bool,
) -> Shape:  # fmt: skip
    _codec("UnicodeTranscode", input_encoding, replacement_char)
    return same_shape(input)


@op("UnicodeTranscode", shape=_transcode_rule)
def unicode_transcode(
    input: np.ndarray, *, input_encoding: bytes, output_encoding: bytes, errors: bytes,
    replacement_char: int, replace_control_characters: bool,
) -> np.ndarray:  # fmt: skip
    """Each string decoded from ``input_encoding`` and encoded in ``output_encoding``."""
    codec = _codec("UnicodeTranscode", input_encoding, replacement_char)

    def transcode(s: bytes) -> bytes:
        points, _ = _decoded(s, codec, errors, replacement_char, replace_control_characters,
                             True)  # fmt: skip
        return _encoded(points, output_encoding)

    return map_elements(transcode, input)


def _check_splits(splits: np.ndarray, count: int) -> None:
    """TF's checks of ``input_splits`` made before any row is encoded."""
    if splits.size == 0:
        raise InvalidArgumentError(
            "Input_splits should contain elements, but given input_values has 0 elements"
        )
    if splits[0] != 0:
        raise InvalidArgumentError("First value in input_splits must be zero.")
    if splits[-1] != count:
        raise InvalidArgumentError(
            "Last value in input_splits must be equal to length of input_tensor."
        )


def _small(spec: TensorSpec) -> np.ndarray | None:
    """An int input's values, when known and few enough for a shape rule to read."""
    n = num_elements(spec.shape)
    if spec.value is None or n is None or n > _CHECKED_VALUES:
        return None
    return np.asarray(spec.value, np.int64).reshape(-1)


def _check_row(start: int, end: int, count: int) -> None:
    if end < start:
        raise InvalidArgumentError("Values in input_splits must be equal or in ascending order.")
    if end > count:
        raise InvalidArgumentError(
            "Values in input_splits must be less than or equal to input_tensor length."
        )


def _valid(points: np.ndarray, errors: bytes, replacement_char: int) -> np.ndarray:
    """A row's code points after the error policy (negative, past U+10FFFF and
    surrogates are errors)."""
    points = points.astype(np.int64)
    bad = (points < 0) | (points > _LAST) | ((points & ~0x7FF) == 0xD800)
    if bad.any() and errors == b"strict":
        raise InvalidArgumentError("Code point is out of range for Unicode, or is a surrogate.")
    points, keep = _apply_policy(points, bad, errors, replacement_char)
    return np.compress(keep, points)


def _encode_rule(
    input_values: TensorSpec, input_splits: TensorSpec, *, errors: bytes,
    output_encoding: bytes, replacement_char: int,
) -> Shape:  # fmt: skip
    if not 0 <= replacement_char <= _LAST:
        raise InvalidArgumentError("replacement_char out of unicode codepoint range")
    ranks = [len(s.shape) for s in (input_values, input_splits) if s.shape is not None]
    if any(rank != 1 for rank in ranks):
        raise InvalidArgumentError("Both the input_tensor and input_splits should be of rank 1. ")
    rows = None if input_splits.shape is None else input_splits.shape[0]
    if rows == 0:
        _check_splits(np.zeros(0, np.int64), 0)
    count, splits, values = num_elements(input_values.shape), _small(input_splits), None
    if splits is not None and count is not None:
        _check_splits(splits, count)
        values = _small(input_values)
        # Rows are checked and encoded in turn: a strict row's bad code point fails
        # before a later row's bad split, so unknown values leave the rows unchecked.
        if values is not None or errors != b"strict":
            for start, end in itertools.pairwise(splits.tolist()):
                _check_row(start, end, count)
                if values is not None:
                    _valid(values[start:end], errors, replacement_char)
    return (-1 if rows is None or rows < 0 else rows - 1,)


@op("UnicodeEncode", shape=_encode_rule)
def unicode_encode(
    input_values: np.ndarray, input_splits: np.ndarray, *, errors: bytes,
    output_encoding: bytes, replacement_char: int,
) -> np.ndarray:  # fmt: skip
    """Row ``i`` of a ragged tensor of code points (``input_values`` between
    ``input_splits[i]`` and ``input_splits[i + 1]``) as one string."""
    specs = TensorSpec(INT32, input_values.shape), TensorSpec(INT64, input_splits.shape)
    _encode_rule(*specs, errors=errors, output_encoding=output_encoding,
                 replacement_char=replacement_char)  # fmt: skip
    splits = input_splits.astype(np.int64).tolist()
    _check_splits(np.asarray(splits, np.int64), input_values.size)
    out = np.empty(len(splits) - 1, dtype=object)
    for i, (start, end) in enumerate(itertools.pairwise(splits)):
        _check_row(start, end, input_values.size)
        out[i] = _encoded(_valid(input_values[start:end], errors, replacement_char),
                          output_encoding)  # fmt: skip
    return out
