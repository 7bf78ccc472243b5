"""String ops, as TF 2.21 computes them on CPU: formatting, parsing, joining, splitting,
slicing, case mapping, RE2 replacement and hashing of ``bytes`` object arrays; one
module per noun, and importing the package registers them.

- ``printf``: AsString (printf-style formatting of numbers, bools and strings)
- ``parsing``: StringToNumber
- ``elementwise``: StringLength, StringStrip, StringUpper, StringLower, Substr
- ``split_join``: StringJoin, ReduceJoin, StringSplitV2
- ``re2``: RE2's syntax translated to Python's ``re``
- ``regex``: RegexReplace, StaticRegexReplace
- ``printing``: StringFormat, and ``summarize`` (how TF prints a tensor; ``debug_ops``)
- ``hashing``: StringToHashBucketFast/Strong, ``fingerprint64`` (FarmHash), ``siphash``

Each module's docstring says where TF differs from the textbook (Python's ``str``
methods, C's printf, Python's ``re``). The kernels are re-exported here.
"""

from . import (
    elementwise,
    hashing,
    match,
    parsing,
    printf,
    printing,
    re2,
    regex,
    split_join,
    unicode,
)
from .elementwise import (
    string_length,
    string_lower,
    string_strip,
    string_upper,
    substr,
)
from .hashing import (
    fingerprint64,
    siphash,
    string_to_hash_bucket_fast,
    string_to_hash_bucket_strong,
)
from .parsing import string_to_number
from .printf import as_string
from .printing import string_format, summarize
from .regex import regex_replace, static_regex_replace
from .split_join import reduce_join, string_join, string_split_v2

__all__ = [
    "as_string",
    "elementwise",
    "fingerprint64",
    "hashing",
    "match",
    "parsing",
    "printf",
    "printing",
    "re2",
    "reduce_join",
    "regex",
    "regex_replace",
    "siphash",
    "split_join",
    "static_regex_replace",
    "string_format",
    "string_join",
    "string_length",
    "string_lower",
    "string_split_v2",
    "string_strip",
    "string_to_hash_bucket_fast",
    "string_to_hash_bucket_strong",
    "string_to_number",
    "string_upper",
    "substr",
    "summarize",
    "unicode",
]
