"""The Enqueue hot path's reader: an ``EnqueueRequest`` read straight from its bytes
into records, for the requests nearly every client sends (operations on handles, handle
releases, and tensors sent as ``tensor_content``, which stay views of the request).

A request of 1,000 tiny ops parsed by upb and then read field by field from Python cost
more than the ops themselves. This reader walks the protobuf wire format once, in code
mypyc compiles (see ``eager_async.compilation``), and decodes each distinct name, device
and attr map once (``functools.lru_cache``-like tables keyed by their bytes).

It accepts a subset of valid requests and declines the rest by returning None: an
operation with an inline tensor, a function item, a sent tensor of strings or with its
values in the typed fields, a field it does not
know, a field repeated where protobuf would keep the last, anything malformed. The
caller then decodes the request the general, strict way (``wire.decode_items``), which
also names what is wrong. For a request it accepts, the records are equal to those the
general way makes (``tests/test_enqueue_reader.py`` checks both ways agree).

>>> from eager_async.bench import workloads
>>> context_id, items = read_enqueue(
...     workloads.enqueue_head(7) + workloads.tiny_bodies(ops=1, k=1)[0])
>>> context_id, items[0].name, items[0].inputs[0].op_id
(7, 'AddV2', 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from . import upb
from .errors import EagerError
from .limits import Limits
from .records import DecrefItem, HandleRef, Item, OpItem, SendTensorItem
from .strict import parse_strictly
from .tensors import decode_content
from .wire import decode_attr_entries

__all__ = ["read_enqueue"]

_VARINT: Final = 0
_FIXED64: Final = 1
_LENGTH: Final = 2
_DT_STRING: Final = 7

_MAX_CACHED: Final = 4096  # entries of each table below before it starts afresh
_TEXTS: dict[bytes, str] = {}
_ATTRS: dict[bytes, Mapping[str, Any]] = {}


class _Declined(Exception):
    """The request is outside what this reader takes: decode it the general way."""


def read_enqueue(payload: bytes, limits: Limits | None = None) -> tuple[int, list[Item]] | None:
    """The context id and one record per queue item of the ``EnqueueRequest`` in
    ``payload``, sent tensors held to ``limits``; None when the request is not one this
    reader takes (see the module docstring)."""
    try:
        return _read_request(payload, limits)
    except (_Declined, EagerError, IndexError, ValueError):
        return None


def _read_request(data: bytes, limits: Limits | None) -> tuple[int, list[Item]]:
    context_id = 0
    items: list[Item] = []
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        field = key >> 3
        wire = key & 7
        if field == 1 and wire == _FIXED64:
            if pos + 8 > end:
                raise _Declined
            context_id = int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif field == 3 and wire == _LENGTH:
            pos, stop = _span(data, pos, end)
            items.append(_read_item(data, pos, stop, limits))
            pos = stop
        else:
            raise _Declined
    return context_id, items


def _read_item(data: bytes, pos: int, end: int, limits: Limits | None) -> Item:
    """A QueueItem holding exactly one operation, handle_to_decref or send_tensor."""
    key, pos = _varint(data, pos)
    if key & 7 != _LENGTH:
        raise _Declined
    pos, stop = _span(data, pos, end)
    if stop != end:  # a second field: not for this reader
        raise _Declined
    field = key >> 3
    if field == 2:
        return _read_operation(data, pos, end)
    if field == 1:
        return DecrefItem(_read_handle(data, pos, end))
    if field == 3:
        return _read_send_tensor(data, pos, end, limits)
    raise _Declined


def _read_send_tensor(data: bytes, pos: int, end: int, limits: Limits | None) -> SendTensorItem:
    op_id = 0
    device = ""
    seen = 0
    tensors: list[np.ndarray] = []
    while pos < end:
        key, pos = _varint(data, pos)
        field = key >> 3
        wire = key & 7
        if field == 1 and wire == _VARINT and not seen & 2:
            seen |= 2
            value, pos = _varint(data, pos)
            op_id = _int64(value)
            continue
        if wire != _LENGTH or field not in (2, 3):
            raise _Declined
        pos, stop = _span(data, pos, end)
        if field == 2:
            tensors.append(_read_tensor(data, pos, stop, limits))
        elif not seen & 8:
            seen |= 8
            device = _text(data, pos, stop)
        else:
            raise _Declined
        pos = stop
    return SendTensorItem(op_id, tuple(tensors), device)


def _read_tensor(data: bytes, pos: int, end: int, limits: Limits | None) -> np.ndarray:
    """A TensorProto of numbers in ``tensor_content`` (strings, values in the typed
    fields, and anything else are declined)."""
    dtype = 0
    shape = b""
    content: memoryview | None = None
    seen = 0
    while pos < end:
        key, pos = _varint(data, pos)
        field = key >> 3
        wire = key & 7
        if seen >> field & 1 or field > 4:
            raise _Declined
        seen |= 1 << field
        if wire == _VARINT and field in (1, 3):  # dtype, version_number
            value, pos = _varint(data, pos)
            if field == 1:
                dtype = _int32(value)
            continue
        if wire != _LENGTH or field not in (2, 4):
            raise _Declined
        pos, stop = _span(data, pos, end)
        if field == 2:
            shape = data[pos:stop]
        else:
            content = memoryview(data)[pos:stop]
        pos = stop
    if not content or dtype == _DT_STRING:
        raise _Declined
    tensor_shape = parse_strictly(upb.TensorShapeProto, shape, "Enqueue")
    return decode_content(dtype, tensor_shape, content, limits)


def _read_operation(data: bytes, pos: int, end: int) -> OpItem:
    op_id = 0
    step_id = 0
    name = ""
    device = ""
    seen = 0  # bit n: scalar field n was read (a repeated scalar field is declined)
    seed_inputs: list[HandleRef] = []
    inputs: list[HandleRef] = []
    control: list[int] = []
    attrs_start = -1
    attrs_end = -1
    while pos < end:
        field_start = pos
        key, pos = _varint(data, pos)
        field = key >> 3
        wire = key & 7
        if wire == _VARINT:
            value, pos = _varint(data, pos)
            if field == 4:
                control.append(_int64(value))
                continue
            if field not in (1, 7, 8, 9) or seen >> field & 1:
                raise _Declined
            seen |= 1 << field
            if field == 1:
                op_id = _int64(value)
            elif field == 8:
                step_id = _int64(value)
            continue
        if wire != _LENGTH:
            raise _Declined
        pos, stop = _span(data, pos, end)
        if field == 10:
            inputs.append(_read_input(data, pos, stop))
        elif field == 3:
            seed_inputs.append(_read_handle(data, pos, stop))
        elif field == 5:
            # The map's entries are read as one run of bytes; an op whose entries are
            # not adjacent is rare enough to decline.
            if attrs_start < 0:
                attrs_start = field_start
            elif attrs_end != field_start:
                raise _Declined
            attrs_end = stop
        elif field == 4:
            control.extend(_packed_int64(data, pos, stop))
        elif field in (2, 6) and not seen >> field & 1:
            seen |= 1 << field
            if field == 2:
                name = _text(data, pos, stop)
            else:
                device = _text(data, pos, stop)
        else:
            raise _Declined
        pos = stop
    if not name:
        raise _Declined  # the general decoder says why
    attrs = _attrs(data[attrs_start:attrs_end]) if attrs_start >= 0 else _attrs(b"")
    seed_inputs.extend(inputs)
    return OpItem(op_id, name, tuple(seed_inputs), attrs, device, tuple(control), step_id)


def _read_input(data: bytes, pos: int, end: int) -> HandleRef:
    """An ``Operation.Input`` holding a remote_handle (an inline tensor is declined)."""
    key, pos = _varint(data, pos)
    if key != (1 << 3 | _LENGTH):
        raise _Declined
    pos, stop = _span(data, pos, end)
    if stop != end:
        raise _Declined
    return _read_handle(data, pos, end)


def _read_handle(data: bytes, pos: int, end: int) -> HandleRef:
    op_id = 0
    output_num = 0
    device = ""
    op_device = ""
    seen = 0
    while pos < end:
        key, pos = _varint(data, pos)
        field = key >> 3
        wire = key & 7
        if seen >> field & 1 or field > 5:  # repeated, or resource dtypes: declined
            raise _Declined
        seen |= 1 << field
        if wire == _VARINT:
            value, pos = _varint(data, pos)
            if field == 1:
                op_id = _int64(value)
            elif field == 2:
                output_num = _int32(value)
            elif field != 5:  # 5: the dtype, which the worker knows already
                raise _Declined
        elif wire == _LENGTH and field in (3, 4):
            pos, stop = _span(data, pos, end)
            if field == 3:
                device = _text(data, pos, stop)
            else:
                op_device = _text(data, pos, stop)
            pos = stop
        else:
            raise _Declined
    if pos != end:
        raise _Declined
    return HandleRef(op_id, output_num, device or op_device)


def _span(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Where the payload of the length-delimited field whose length is at ``pos`` starts
    and stops; declined when it would run past ``end``."""
    length, pos = _varint(data, pos)
    stop = pos + length
    if stop > end:
        raise _Declined
    return pos, stop


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    byte = data[pos]
    if byte < 0x80:  # nearly every tag and length
        return byte, pos + 1
    value = byte & 0x7F
    shift = 7
    pos += 1
    while True:
        byte = data[pos]
        pos += 1
        if shift == 63 and byte > 1:  # more than 64 bits
            raise _Declined
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise _Declined


def _packed_int64(data: bytes, pos: int, end: int) -> list[int]:
    values: list[int] = []
    while pos < end:
        value, pos = _varint(data, pos)
        values.append(_int64(value))
    if pos != end:
        raise _Declined
    return values


def _int64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF  # protobuf keeps the low 32 bits of an int32's varint
    return value - (1 << 32) if value >= 1 << 31 else value


def _text(data: bytes, pos: int, end: int) -> str:
    """A string field's value, decoded once per distinct value (UTF-8 checked, as
    protobuf does: invalid UTF-8 raises ``ValueError``, and the request is declined)."""
    raw = data[pos:end]
    text = _TEXTS.get(raw)
    if text is None:
        text = raw.decode("utf-8")
        if len(_TEXTS) >= _MAX_CACHED:
            _TEXTS.clear()
        _TEXTS[raw] = text
    return text


def _attrs(entries: bytes) -> Mapping[str, Any]:
    """An op's attrs from its map entries' bytes, decoded once per distinct run of
    entries; each AttrValue is parsed strictly, as in every other request."""
    found = _ATTRS.get(entries)
    if found is None:
        found = decode_attr_entries(_checked_entries(entries))
        if len(_ATTRS) >= _MAX_CACHED:
            _ATTRS.clear()
        _ATTRS[entries] = found
    return found


def _checked_entries(entries: bytes) -> tuple[tuple[str, bytes], ...]:
    """The map's (key, serialized AttrValue) pairs, sorted by key, the last of equal
    keys kept (as protobuf does)."""
    pairs: dict[str, bytes] = {}
    pos = 0
    end = len(entries)
    while pos < end:
        key, pos = _varint(entries, pos)
        if key != (5 << 3 | _LENGTH):
            raise _Declined
        pos, stop = _span(entries, pos, end)
        name, value = _read_entry(entries, pos, stop)
        parse_strictly(upb.AttrValue, value, "Enqueue")
        pairs[name] = value
        pos = stop
    return tuple(sorted(pairs.items()))


def _read_entry(data: bytes, pos: int, end: int) -> tuple[str, bytes]:
    name = ""
    value = b""
    seen = 0
    while pos < end:
        key, pos = _varint(data, pos)
        field = key >> 3
        if key & 7 != _LENGTH or field not in (1, 2) or seen >> field & 1:
            raise _Declined
        seen |= 1 << field
        pos, stop = _span(data, pos, end)
        if field == 1:
            name = _text(data, pos, stop)
        else:
            value = data[pos:stop]
        pos = stop
    return name, value
