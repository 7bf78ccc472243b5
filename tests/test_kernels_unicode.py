"""Records of the Unicode and full-match string ops (``string_ops.unicode``,
``string_ops.match``); every expected value and message was computed by TensorFlow 2.21
(``tf.raw_ops``) and pasted here."""

from __future__ import annotations

import doctest
from types import ModuleType

import numpy as np
import pytest
from kernel_records import Bad, Case, Inference, b, i32, i64, s, t

from eager_async.errors import InvalidArgumentError, UnimplementedError
from eager_async.kernels import TensorSpec, lookup
from eager_async.kernels.string_ops import match, unicode

STR, I32, I64 = np.dtype(object), np.dtype(np.int32), np.dtype(np.int64)
WORDS = s([b"Hello", b"", "\u00e9t\u00e9".encode(), b"\xf0\x9f\x98\x80x", b"\xff\xfe",
           b"a\x00\x01\x1f\x7f\xc2\x80", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"\xc0\xaf"])  # fmt: skip
CODES = i32([104, 105, -1, 0x110000, 0xD800, 0xDFFF, 0x1F600, 0, 1, 0x7F, 0xFFFE])
ROWS = i64([0, 2, 3, 4, 5, 6, 7, 11])
SENTENCES = s([b"Hello World", b"eager,async,rpc", b"\xc3\xa9t\xc3\xa9 42", b"", b"\xff", b"a\nb",
               b"ab"])  # fmt: skip
UTF8 = {"input_encoding": b"UTF-8"}
FFFD = 65533

C = Case
CASES = [
    C("UnicodeDecode", (WORDS,),
      (i64([0, 5, 5, 8, 10, 12, 18, 19, 22, 26, 28]),
       i32([72, 101, 108, 108, 111, 233, 116, 233, 128512, 120, FFFD, FFFD, 97, 0, 1, 31, 127,
            128, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD])),
      UTF8, name="replace: one per maximal bad sequence", data_dependent=True),
    C("UnicodeDecode", (WORDS,),
      (i64([0, 5, 5, 8, 10, 10, 16, 16, 16, 16, 16]),
       i32([72, 101, 108, 108, 111, 233, 116, 233, 128512, 120, 97, 0, 1, 31, 127, 128])),
      {**UTF8, "errors": b"ignore"}, name="ignore", data_dependent=True),
    C("UnicodeDecode", (WORDS,),
      (i32([0, 5, 5, 8, 10, 12, 18, 19, 22, 26, 28]),
       i32([72, 101, 108, 108, 111, 233, 116, 233, 128512, 120, 63, 63, 97, 63, 63, 63, 127, 128,
            63, 63, 63, 63, 63, 63, 63, 63, 63, 63])),
      {"input_encoding": b"utf8", "replace_control_characters": True, "replacement_char": 63,
       "Tsplits": I32}, name="controls replaced, int32 splits, ICU alias", data_dependent=True),
    C("UnicodeDecode", (s([b"a\tb\x00", b"\xff"]),), (i64([0, 2, 2]), i32([97, 98])),
      {**UTF8, "errors": b"ignore", "replace_control_characters": True},
      name="ignore drops controls", data_dependent=True),
    C("UnicodeDecode", (s([b"a\x01b"]),), (i64([0, 3]), i32([97, FFFD, 98])),
      {**UTF8, "errors": b"strict", "replace_control_characters": True},
      name="strict replaces controls", data_dependent=True),
    C("UnicodeDecode", (s([b"a\xff"]),), (i64([0, 2]), i32([97, 55296])),
      {**UTF8, "replacement_char": 0xD800}, name="surrogate replacement as is",
      data_dependent=True),
    C("UnicodeDecode", (s([[b"ab"], [b"\xc3\xa9"]]),), (i64([0, 2, 3]), i32([97, 98, 233])),
      {**UTF8, "errors": b"strict"}, name="matrix flattened", data_dependent=True),
    C("UnicodeDecode", (s(b"ab"),), (i64([0, 2]), i32([97, 98])), UTF8, name="scalar",
      data_dependent=True),
    C("UnicodeDecode", (s(np.zeros((0, 2), dtype=object)),), (i64([0]), i32(np.zeros((0,)))),
      UTF8, name="0-size", data_dependent=True),
    C("UnicodeDecode",
      (s([b"\x00a\xd8\x3d\xde\x00\x00", b"\xdc\x00\x00a", b"\xd8\x00\xd8\x00\xdc\x00",
          b"\xfe\xff\x00a"]),),
      (i64([0, 3, 5, 7, 9]), i32([97, 128512, FFFD, FFFD, 97, FFFD, 65536, 65279, 97])),
      {"input_encoding": b"UTF-16-BE"}, name="UTF-16-BE", data_dependent=True),
    C("UnicodeDecode", (s([b"a\x00=\xd8\x00\xde", b"\x00"]),), (i64([0, 2, 2]), i32([97, 128512])),
      {"input_encoding": b"UTF-16LE", "errors": b"ignore"}, name="UTF-16LE", data_dependent=True),
    C("UnicodeDecode",
      (s([b"\x00\x00\x00a\x00\x11\x00\x00\x00\x00\xd8\x00\x00\x01\xf6\x00\x00\x00"]),),
      (i64([0, 5]), i32([97, FFFD, FFFD, 128512, FFFD])), {"input_encoding": b"UTF-32-BE"},
      name="UTF-32-BE", data_dependent=True),
    C("UnicodeDecode", (s([b"a\x80\xff"]),), (i64([0, 3]), i32([97, 128, 255])),
      {"input_encoding": b"ISO-8859-1"}, name="latin-1", data_dependent=True),
    C("UnicodeDecode", (s([b"a\x80\xff"]),), (i64([0, 3]), i32([97, FFFD, FFFD])),
      {"input_encoding": b"US-ASCII"}, name="ASCII", data_dependent=True),
    C("UnicodeDecodeWithOffsets", (WORDS,),
      (i64([0, 5, 5, 8, 10, 12, 18, 19, 22, 26, 28]),
       i32([72, 101, 108, 108, 111, 233, 116, 233, 128512, 120, FFFD, FFFD, 97, 0, 1, 31, 127,
            128, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD, FFFD]),
       i64([0, 1, 2, 3, 4, 0, 2, 3, 0, 4, 0, 1, 0, 1, 2, 3, 4, 5, 0, 0, 1, 2, 0, 1, 2, 3, 0, 1])),
      UTF8, name="offsets of replaced errors", data_dependent=True),
    C("UnicodeDecodeWithOffsets", (s([b"\xc3", b"\xa9", b"", b"a\xc3", b"\xa9"]),),
      (i64([0, 1, 2, 2, 4, 5]), i32([FFFD, FFFD, 97, FFFD, FFFD]), i64([0, 0, 0, 1, 0])), UTF8,
      name="a character split between strings is two errors", data_dependent=True),
    C("UnicodeDecodeWithOffsets", (s([b"a\x01b\xffc"]),),
      (i64([0, 3]), i32([97, 98, 99]), i64([0, 2, 4])),
      {**UTF8, "errors": b"ignore", "replace_control_characters": True}, name="ignore",
      data_dependent=True),
    C("UnicodeDecodeWithOffsets", (s([b"\x00a\xd8\x3d\xde\x00\x00", b"\x00a"]),),
      (i64([0, 3, 4]), i32([97, 128512, FFFD, 97]), i64([0, 2, 6, 0])),
      {"input_encoding": b"UTF-16-BE"}, name="UTF-16-BE", data_dependent=True),
    C("UnicodeEncode", (CODES, ROWS),
      (s([b"hi", b"\xef\xbf\xbd", b"\xef\xbf\xbd", b"\xef\xbf\xbd", b"\xef\xbf\xbd",
          b"\xf0\x9f\x98\x80", b"\x00\x01\x7f\xef\xbf\xbe"]),),
      {"output_encoding": b"UTF-8"}, name="invalid code points replaced"),
    C("UnicodeEncode", (CODES, ROWS),
      (s([b"\x00h\x00i", b"", b"", b"", b"", b"\xd8=\xde\x00",
          b"\x00\x00\x00\x01\x00\x7f\xff\xfe"]),),
      {"output_encoding": b"UTF-16-BE", "errors": b"ignore"}, name="UTF-16-BE, ignore"),
    C("UnicodeEncode", (CODES, ROWS.astype(np.int32)),
      (s([b"\x00\x00\x00h\x00\x00\x00i", b"\x00\x00\x00?", b"\x00\x00\x00?", b"\x00\x00\x00?",
          b"\x00\x00\x00?", b"\x00\x01\xf6\x00",
          b"\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x7f\x00\x00\xff\xfe"]),),
      {"output_encoding": b"UTF-32-BE", "replacement_char": 63}, name="UTF-32-BE, int32 splits"),
    C("UnicodeEncode", (i32([97, -1, 0xDC00]), i64([0, 3])), (s([b"a\xef\xbf\xbd\xef\xbf\xbd"]),),
      {"output_encoding": b"UTF-8", "replacement_char": 0xD800},
      name="surrogate replacement is U+FFFD in UTF-8"),
    C("UnicodeEncode", (i32([97, -1, 0xDC00]), i64([0, 3])), (s([b"\x00a\xd8\x00\xd8\x00"]),),
      {"output_encoding": b"UTF-16-BE", "replacement_char": 0xD800},
      name="surrogate replacement raw in UTF-16"),
    C("UnicodeEncode", (i32([97, -1]), i64([0, 0, 2, 2])),
      (s([b"", b"\x00\x00\x00a\x00\x00\xdc\x01", b""]),),
      {"output_encoding": b"UTF-32-BE", "replacement_char": 0xDC01},
      name="empty rows; raw in UTF-32"),
    C("UnicodeEncode", (i32(np.zeros(0)), i64([0])), (s(np.zeros((0,), dtype=object)),),
      {"output_encoding": b"UTF-8"}, name="no rows"),
    C("UnicodeTranscode", (WORDS,),
      (s([b"\x00H\x00e\x00l\x00l\x00o", b"", b"\x00\xe9\x00t\x00\xe9", b"\xd8=\xde\x00\x00x",
          b"\xff\xfd\xff\xfd", b"\x00a\x00\x00\x00\x01\x00\x1f\x00\x7f\x00\x80", b"\xff\xfd",
          b"\xff\xfd\xff\xfd\xff\xfd", b"\xff\xfd\xff\xfd\xff\xfd\xff\xfd", b"\xff\xfd\xff\xfd"]),),
      {**UTF8, "output_encoding": b"UTF-16-BE"}, name="UTF-8 to UTF-16-BE"),
    C("UnicodeTranscode", (WORDS,),
      (s([b"Hello", b"", b"\xc3\xa9t\xc3\xa9", b"\xf0\x9f\x98\x80x", b"\xef\xbf\xbd\xef\xbf\xbd",
          b"a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x7f\xc2\x80", b"\xef\xbf\xbd",
          b"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          b"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          b"\xef\xbf\xbd\xef\xbf\xbd"]),),
      {**UTF8, "output_encoding": b"UTF-8", "replace_control_characters": True}, name="controls"),
    C("UnicodeTranscode", (WORDS,),
      (s([b"\x00\x00\x00H\x00\x00\x00e\x00\x00\x00l\x00\x00\x00l\x00\x00\x00o", b"",
          b"\x00\x00\x00\xe9\x00\x00\x00t\x00\x00\x00\xe9", b"\x00\x01\xf6\x00\x00\x00\x00x", b"",
          b"\x00\x00\x00a\x00\x00\x00\x7f\x00\x00\x00\x80", b"", b"", b"", b""]),),
      {**UTF8, "output_encoding": b"UTF-32-BE", "errors": b"ignore",
       "replace_control_characters": True}, name="ignore drops controls"),
    C("UnicodeTranscode", (s([[b"a\xff"], [b"\x01"]]),),
      (s([[b"a\xef\xbf\xbd"], [b"\xef\xbf\xbd"]]),),
      {**UTF8, "output_encoding": b"UTF-8", "replacement_char": 0xD801,
       "replace_control_characters": True}, name="surrogate replacement in UTF-8"),
    C("UnicodeTranscode", (s(b"\x00a\xd8\x00"),), (s(b"\x00a\xd8\x01"),),
      {"input_encoding": b"UTF-16-BE", "output_encoding": b"UTF-16-BE",
       "replacement_char": 0xD801}, name="scalar; surrogate replacement in UTF-16"),
    C("RegexFullMatch", (SENTENCES, s(b".*o.*")),
      (b([True, False, False, False, False, False, False]),), name="whole string"),
    C("RegexFullMatch", (s([[b"abc"], [b"x"]]), s(b"a.c")), (b([[True], [False]]),),
      name="matrix"),
    C("StaticRegexFullMatch", (SENTENCES,), (b([True, False, False, False, False, False, False]),),
      {"pattern": b".*o.*"}, name="whole string"),
    C("StaticRegexFullMatch", (SENTENCES,), (b([True, True, True, True, False, True, True]),),
      {"pattern": b"[^x]*"}, name="bad UTF-8 never matches"),
    C("StaticRegexFullMatch", (SENTENCES,), (b([False, False, False, False, False, False, True]),),
      {"pattern": b"a|ab"}, name="alternatives"),
    C("StaticRegexFullMatch", (SENTENCES,), (b([False, False, False, False, False, True, False]),),
      {"pattern": b"(?s)a.b"}, name="dot and newline"),
    C("StaticRegexFullMatch", (SENTENCES,), (b([False] * 7),), {"pattern": b"\\PL+"},
      name="Unicode class"),
    C("StaticRegexFullMatch", (SENTENCES,), (b([False, False, False, True, False, False, False]),),
      {"pattern": b""}, name="empty pattern"),
    C("StaticRegexFullMatch", (s(b"Hello World"),), (b(True),), {"pattern": b"^Hello World$"},
      name="scalar"),
    C("StaticRegexFullMatch", (s(np.zeros((0, 2), dtype=object)),), (b(np.zeros((0, 2))),),
      {"pattern": b"a"}, name="0-size"),
]

INFERENCE = [
    Inference("UnicodeDecode", (t(STR, (3, 2)),), (t(I64, (7,)), t(I32, (-1,))), UTF8),
    Inference("UnicodeDecode", (t(STR, (-1, 2)),), (t(I32, (-1,)), t(I32, (-1,))),
              {**UTF8, "Tsplits": I32}),
    Inference("UnicodeDecodeWithOffsets", (t(STR, None),),
              (t(I64, (-1,)), t(I32, (-1,)), t(I64, (-1,))), UTF8),
    Inference("UnicodeTranscode", (t(STR, (4, -1)),), (t(STR, (4, -1)),),
              {**UTF8, "output_encoding": b"UTF-16-BE"}),
    Inference("UnicodeEncode", (t(I32, (-1,)), t(I64, (5,))), (t(STR, (4,)),),
              {"output_encoding": b"UTF-8"}),
    Inference("UnicodeEncode", (t(I32, None), t(I64, None)), (t(STR, (-1,)),),
              {"output_encoding": b"UTF-8"}),
    Inference("RegexFullMatch", (t(STR, (3, -1)), t(STR, None)), (t(np.bool_, (3, -1)),)),
    Inference("StaticRegexFullMatch", (t(STR, None),), (t(np.bool_, None),), {"pattern": b"a"}),
]

ERRORS = [
    Bad("UnicodeDecode", (s([b"a"]),), "replacement_char out of unicode codepoint range",
        {"input_encoding": b"bogus", "replacement_char": -1}),
    Bad("UnicodeDecode", (s([b"a"]),), "Could not create converter for input encoding: bogus",
        {"input_encoding": b"bogus"}),
    Bad("UnicodeDecode", (s([b"a"]),), "Could not create converter for input encoding: ",
        {"input_encoding": b""}),
    # ICU's legacy code pages are not built here.
    Bad("UnicodeDecode", (s([b"a"]),), "not windows-1252", {"input_encoding": b"windows-1252"},
        UnimplementedError),
    Bad("UnicodeDecode", (s([b"a"]),),
        "Value for attr 'errors' of \"bogus\" is not in the list of allowed values",
        {**UTF8, "errors": b"bogus"}),
    Bad("UnicodeDecode", (s([b"a"]),),
        "Value for attr 'Tsplits' of int8 is not in the list of allowed values: int32, int64",
        {**UTF8, "Tsplits": np.dtype(np.int8)}),
    Bad("UnicodeDecode", (i32([1]),),
        "cannot compute UnicodeDecode as input #0(zero-based) was expected to be a string tensor "
        "but is a int32 tensor", UTF8),
    Bad("UnicodeDecode", (s([b"a"]),), "NodeDef missing attr 'input_encoding'"),
    Bad("UnicodeDecodeWithOffsets", (s([b"a"]),), "replacement_char out of unicode codepoint range",
        {**UTF8, "replacement_char": 0x110000}),
    Bad("UnicodeTranscode", (s([b"a"]),), "Could not create converter for input encoding: bogus",
        {"input_encoding": b"bogus", "output_encoding": b"UTF-8"}),
    Bad("UnicodeTranscode", (s([b"a"]),),
        "Value for attr 'output_encoding' of \"UTF-16\" is not in the list of allowed values",
        {**UTF8, "output_encoding": b"UTF-16"}),
    Bad("UnicodeTranscode", (s([b"a"]),), "replacement_char out of unicode codepoint range",
        {**UTF8, "output_encoding": b"UTF-8", "replacement_char": -1}),
    Bad("UnicodeEncode", (i32([[97]]), i64([0, 1])),
        "Both the input_tensor and input_splits should be of rank 1.",
        {"output_encoding": b"UTF-8"}),
    Bad("UnicodeEncode", (i32([97]), i64([[0, 1]])),
        "Both the input_tensor and input_splits should be of rank 1.",
        {"output_encoding": b"UTF-8"}),
    Bad("UnicodeEncode", (i32([97]), i64([])),
        "Input_splits should contain elements, but given input_values has 0 elements",
        {"output_encoding": b"UTF-8"}),
    Bad("UnicodeEncode", (i32([97, 98]), i64([1, 2])), "First value in input_splits must be zero.",
        {"output_encoding": b"UTF-8"}),
    Bad("UnicodeEncode", (i32([97, 98]), i64([0, 1])),
        "Last value in input_splits must be equal to length of input_tensor.",
        {"output_encoding": b"UTF-8"}),
    Bad("UnicodeEncode", (i32([97, 98]), i64([0, 2, 1, 2])),
        "Values in input_splits must be equal or in ascending order.",
        {"output_encoding": b"UTF-8"}),
    Bad("UnicodeEncode", (i32([97, 98]), i64([0, 3, 2])),
        "Values in input_splits must be less than or equal to input_tensor length.",
        {"output_encoding": b"UTF-8"}),
    # Row 0 is encoded (and fails) before row 1's splits are looked at.
    Bad("UnicodeEncode", (i32([-1, 97]), i64([0, 1, 0, 2])),
        "Code point is out of range for Unicode, or is a surrogate.",
        {"output_encoding": b"UTF-8", "errors": b"strict"}),
    Bad("UnicodeEncode", (i32([97, 0xD800]), i64([0, 2])),
        "Code point is out of range for Unicode, or is a surrogate.",
        {"output_encoding": b"UTF-8", "errors": b"strict"}),
    Bad("UnicodeEncode", (i32([97]), i64([0, 1])),
        "replacement_char out of unicode codepoint range",
        {"output_encoding": b"UTF-8", "replacement_char": 0x110000}),
    Bad("UnicodeEncode", (i32([97]), i64([0, 1])),
        "Value for attr 'output_encoding' of \"UTF-16\" is not in the list of allowed values",
        {"output_encoding": b"UTF-16"}),
    Bad("RegexFullMatch", (s([b"a"]), s([b"a"])), "Pattern must be scalar, but received [1]"),
    Bad("StaticRegexFullMatch", (s([b"a"]),), "Invalid pattern: (, error: missing ): (",
        {"pattern": b"("}),
    Bad("StaticRegexFullMatch", (s(np.zeros(0, dtype=object)),),
        "Invalid pattern: a{1001}, error: invalid repetition size: {1001}",
        {"pattern": b"a{1001}"}),
    Bad("StaticRegexFullMatch", (s([b"a"]),),
        "Invalid pattern: \\xZ, error: invalid escape sequence: \\xZ", {"pattern": b"\\xZ"}),
]

# Errors in the values of string inputs, which no shape rule reads.
V = Bad
VALUE_ERRORS = [
    V("UnicodeDecode", (s([b"a\xff"]),), "Invalid formatting on input string",
      {**UTF8, "errors": b"strict"}),
    V("UnicodeDecodeWithOffsets", (s([b"\x00a\x00"]),), "Invalid formatting on input string",
      {"input_encoding": b"UTF-16-BE", "errors": b"strict"}),
    V("UnicodeTranscode", (s([b"a\x01"]),), "Invalid formatting on input string",
      {**UTF8, "output_encoding": b"UTF-8", "errors": b"strict",
       "replace_control_characters": True}),
    V("RegexFullMatch", (s([b"a"]), s(b"(")), "Invalid pattern: (, error: missing ): ("),
]


@pytest.mark.parametrize("bad", VALUE_ERRORS, ids=lambda b: f"{b.op}-{b.fragment[:30]}")
def test_value_errors_wait_for_the_kernel(bad: Bad) -> None:
    spec = lookup(bad.op)
    spec.shapes([TensorSpec(x.dtype, x.shape, x) for x in bad.inputs], bad.attrs)
    with pytest.raises(bad.error) as raised:
        spec.run(bad.inputs, bad.attrs)
    assert raised.value.message.endswith(bad.fragment)


def test_encode_checks_every_row_of_a_long_input() -> None:
    # The shape rule reads at most 64 values; the kernel checks all of them.
    values = np.full(100, 97, np.int32)
    values[-1] = 0xD800
    splits = i64([0, 50, 100])
    with pytest.raises(InvalidArgumentError, match="or is a surrogate"):
        lookup("UnicodeEncode").run([values, splits], {"output_encoding": b"UTF-8",
                                                       "errors": b"strict"})  # fmt: skip


def test_decode_and_encode_round_trip() -> None:
    text = s(["\u00e9t\u00e9 \U0001f600".encode(), b"", b"plain"])
    for encoding in (b"UTF-8", b"UTF-16-BE", b"UTF-32-BE"):
        encoded = lookup("UnicodeTranscode").run(
            [text], {**UTF8, "output_encoding": encoding})[0]  # fmt: skip
        splits, points = lookup("UnicodeDecode").run([encoded], {"input_encoding": encoding})
        again = lookup("UnicodeEncode").run([points, splits], {"output_encoding": b"UTF-8"})[0]
        assert again.tolist() == text.tolist()


@pytest.mark.parametrize("module", [match, unicode], ids=lambda m: m.__name__)
def test_doctests(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0
