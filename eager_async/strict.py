"""The strict decoding boundary of the service's requests (all but Enqueue's, which
``wire.py`` decodes on the hot path): a request is first parsed by Google's protobuf
runtime (upb) and checked, then handed over as the typed dataclass message.

A field sent with the wrong wire type (a scalar sent length-delimited, a message sent as
a varint), which a lenient decoder turns into a value of the wrong Python type, is
INVALID_ARGUMENT naming the RPC and the field; so is a truncated or corrupt message.
Fields this worker does not know are skipped, as protobuf does.

>>> from eager_async._proto.tensorflow import eager
>>> request = StrictRequest("KeepAlive", "tensorflow.eager.KeepAliveRequest",
...                         eager.KeepAliveRequest)
>>> request.FromString(bytes.fromhex("0901000000000000 00")).context_id
1
>>> request.FromString(bytes.fromhex("0a00"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
eager_async.errors.InvalidArgumentError: KeepAlive: field context_id ... was sent with ...
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor, message, unknown_fields

from . import upb
from .errors import InvalidArgumentError

__all__ = ["StrictRequest", "parse_strictly"]

_WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 3: "group", 4: "group", 5: "32-bit"}
_FD = descriptor.FieldDescriptor
_VARINT_TYPES = {
    _FD.TYPE_INT32, _FD.TYPE_INT64, _FD.TYPE_UINT32, _FD.TYPE_UINT64, _FD.TYPE_SINT32,
    _FD.TYPE_SINT64, _FD.TYPE_BOOL, _FD.TYPE_ENUM,
}  # fmt: skip
_FIXED64_TYPES = {_FD.TYPE_FIXED64, _FD.TYPE_SFIXED64, _FD.TYPE_DOUBLE}
_FIXED32_TYPES = {_FD.TYPE_FIXED32, _FD.TYPE_SFIXED32, _FD.TYPE_FLOAT}


class StrictRequest:
    """Decodes one RPC's request strictly (grpclib's codec calls ``FromString``) into
    the dataclass message ``typed`` (None: the upb message, for a hot path);
    ``full_name`` is the protobuf message's name."""

    def __init__(self, method: str, full_name: str, typed: Any = None) -> None:
        self._method = method
        self._checked = upb.message_class(full_name)
        self._typed = typed

    def FromString(self, data: bytes) -> Any:  # the protobuf method grpclib calls
        """The request ``data`` holds, as the dataclass message."""
        parsed = parse_strictly(self._checked, data, self._method)
        return parsed if self._typed is None else self._typed.parse(data)


def parse_strictly(message_class: Any, data: bytes, method: str) -> Any:
    """``data`` parsed as upb's ``message_class``; INVALID_ARGUMENT naming ``method`` and
    the field when it is corrupt or a field has the wrong wire type.

    The cheap test first, in C: a message whose size does not change when the fields
    protobuf set aside are dropped had none. Only otherwise (a field of the wrong wire
    type, or one this worker does not know) is the message walked to name the culprit."""
    try:
        parsed = message_class.FromString(data)
    except message.DecodeError as error:
        raise InvalidArgumentError(
            f"{method}: the request is not a valid protobuf message "
            f"({message_class.DESCRIPTOR.full_name}: {error})"
        ) from None
    size = parsed.ByteSize()
    parsed.DiscardUnknownFields()
    if parsed.ByteSize() != size:
        _check(message_class.FromString(data), method)
    return parsed


def _check(parsed: message.Message, method: str) -> None:
    """Refuse a field of ``parsed`` (or of a message inside it) whose wire type is not
    its type's: protobuf keeps such a field aside as an unknown field."""
    fields = parsed.DESCRIPTOR.fields_by_number
    for unknown in unknown_fields.UnknownFieldSet(parsed):
        field = fields.get(unknown.field_number)
        if field is not None:
            raise InvalidArgumentError(
                f"{method}: field {field.name} of {parsed.DESCRIPTOR.full_name} was sent with "
                f"wire type {unknown.wire_type} ({_WIRE_NAMES.get(unknown.wire_type, '?')}); "
                f"its type ({_type_name(field)}) takes {_expected(field)}"
            )
    for field, value in parsed.ListFields():
        if field.type != _FD.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if value_field.type == _FD.TYPE_MESSAGE:
                for item in value.values():
                    _check(item, method)
        elif field.is_repeated:
            for item in value:
                _check(item, method)
        else:
            _check(value, method)


def _type_name(field: descriptor.FieldDescriptor) -> str:
    if field.type == _FD.TYPE_MESSAGE:
        return str(field.message_type.full_name)
    if field.type == _FD.TYPE_ENUM:
        return str(field.enum_type.full_name)
    names = {value: name for name, value in vars(_FD).items() if name.startswith("TYPE_")}
    return str(names[field.type]).removeprefix("TYPE_").lower()


def _expected(field: descriptor.FieldDescriptor) -> str:
    if field.type in _VARINT_TYPES:
        wire = 0
        if field.is_repeated:
            return "wire type 0 (varint), or 2 when packed"
    elif field.type in _FIXED64_TYPES:
        wire = 1
    elif field.type in _FIXED32_TYPES:
        wire = 5
    else:
        wire = 2
    return f"wire type {wire} ({_WIRE_NAMES[wire]})"
