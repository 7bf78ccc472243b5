"""Mutations of a request's bytes: blind ones (bit flips, truncation, splicing, inserted
and repeated runs) and ones that know the schema (a known field sent with a wrong wire
type, a length that lies, a varint set to an edge value or written over-long, a field
repeated many times, a string made huge), at any depth of nesting.

>>> import random
>>> mutated = mutate(random.Random(1), "tensorflow.eager.KeepAliveRequest",
...                  bytes.fromhex("090100000000000000"), [])
>>> isinstance(mutated, bytes)
True
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import protowire as pw
from .schema import legal_wires, submessage

INTERESTING_INTS = [0, 1, -1, 2, 3, 7, 64, 65, 127, 128, 255, 256, 1000, 2**15, 2**16 - 1,
                    2**31 - 1, 2**31, -2**31, 2**32, 2**53, 10**9, 10**10, 2**62, 2**63 - 1,
                    -2**63, 2**64 - 1, -2]
INTERESTING_BYTES = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x0A, 0x12]


@dataclass(slots=True)
class Node:
    """A field in a tree of fields: ``children`` when its bytes were read as the message
    its schema names (``type_name``), None otherwise."""

    number: int
    wire: int
    value: int | bytes
    type_name: str | None = None
    children: list[Node] | None = None
    raw_override: bytes | None = field(default=None)

    def encode(self) -> bytes:
        if self.raw_override is not None:
            return self.raw_override
        if self.children is not None:
            return pw.field_bytes(self.number, encode_tree(self.children))
        return pw.Field(self.number, self.wire, self.value).encode()


def parse_tree(type_name: str | None, data: bytes) -> list[Node]:
    """``data`` as a tree of fields, descending into the fields whose schema says
    message; WireError if the top level is not well formed."""
    nodes = []
    for f in pw.parse(data):
        node = Node(f.number, f.wire, f.value)
        sub = submessage(type_name, f.number) if type_name else None
        if f.wire == pw.LEN and sub is not None:
            assert isinstance(f.value, bytes)
            try:
                node.children = parse_tree(sub, f.value)
                node.type_name = sub
            except pw.WireError:
                pass
        nodes.append(node)
    return nodes


def encode_tree(nodes: Sequence[Node]) -> bytes:
    return b"".join(n.encode() for n in nodes)


def _walk(nodes: list[Node], parent: str | None) -> list[tuple[list[Node], int, str | None]]:
    """Every (sibling list, index, type of the message holding it) in the tree."""
    found = []
    for index, node in enumerate(nodes):
        found.append((nodes, index, parent))
        if node.children is not None:
            found.extend(_walk(node.children, node.type_name))
    return found


def _interesting_int(rng: random.Random) -> int:
    return rng.choice(INTERESTING_INTS) if rng.random() < 0.8 else rng.getrandbits(64)


def _overlong_varint(rng: random.Random, value: int) -> bytes:
    # A canonical varint padded with continuation bytes: legal up to 10 bytes, then not.
    data = bytearray(pw.varint(value))
    data[-1] |= 0x80
    return bytes(data) + b"\x80" * rng.randint(0, 9) + b"\x00"


def _structured(rng: random.Random, type_name: str | None, data: bytes) -> bytes | None:
    try:
        tree = parse_tree(type_name, data)
    except pw.WireError:
        return None
    spots = _walk(tree, type_name)
    if not spots:
        extra = rng.randint(1, 20)
        return data + pw.field_of_wire(extra, rng.choice(pw.WIRE_TYPES))
    siblings, index, parent = rng.choice(spots)
    node = siblings[index]
    choice = rng.randrange(11)
    if choice == 0:  # a known field with a wire type its schema forbids
        wrong = [w for w in (pw.VARINT, pw.I64, pw.LEN, pw.I32, pw.SGROUP)
                 if parent is None or w not in legal_wires(parent, node.number)]
        wire = rng.choice(wrong or [pw.SGROUP])
        payload = rng.choice([b"\x01", b"\xff" * 3, b"", b"\x08\x01"])
        siblings[index] = Node(node.number, wire, 0,
                               raw_override=pw.field_of_wire(node.number, wire, payload))
    elif choice == 1 and node.wire == pw.VARINT:
        node.value = _interesting_int(rng) & (2**64 - 1)
    elif choice == 2 and node.wire == pw.VARINT:
        node.raw_override = pw.tag(node.number, pw.VARINT) + _overlong_varint(
            rng, int(node.value))  # type: ignore[arg-type]
    elif choice == 3 and node.wire == pw.LEN:  # a length that lies (inside: the outer is right)
        body = node.encode()[len(pw.tag(node.number, pw.LEN)):]
        _, start = pw.read_varint(body, 0)
        content = body[start:]
        lie = max(0, len(content) + rng.choice([-3, -1, 1, 2, 1000, 2**31]))
        node.raw_override = pw.tag(node.number, pw.LEN) + pw.varint(lie) + content
    elif choice == 4:  # repeated many times (up to about 4 MB)
        copies = rng.choice([2, 10, 1000, 20000])
        copies = max(2, min(copies, (4 << 20) // max(1, len(node.encode()))))
        siblings[index + 1:index + 1] = [node] * (copies - 1)
    elif choice == 5:
        del siblings[index]
    elif choice == 6 and node.wire == pw.LEN and node.children is None:
        node.value = rng.choice([
            b"", b"\xff\xfe", "é".encode() * 1000, b"A" * rng.choice([256, 70000, 300000]),
            b"/job:worker/replica:0/task:0/device:CPU:0", b"/job:ghost/replica:0/task:9",
            b"\x00" * 16, b"-1", bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))),
        ])
    elif choice == 7:  # an unknown field, or a known one from elsewhere in the schema
        number = rng.choice([rng.randint(1, 20), 536870911, 19000])
        siblings.insert(index, Node(number, 0, 0, raw_override=pw.field_of_wire(
            number, rng.choice(pw.WIRE_TYPES), bytes([rng.getrandbits(8)]))))
    elif choice == 8 and node.wire in (pw.I64, pw.I32):
        size = 8 if node.wire == pw.I64 else 4
        value = _interesting_int(rng) & ((1 << (8 * size)) - 1)
        node.value = value.to_bytes(size, "little")
    elif choice == 9 and node.children is not None:  # an element of a packed list or a sub-message
        node.children.append(rng.choice(node.children) if node.children else Node(
            1, pw.VARINT, _interesting_int(rng) & (2**64 - 1)))
    else:  # swap with a sibling: fields out of order
        other = rng.randrange(len(siblings))
        siblings[index], siblings[other] = siblings[other], siblings[index]
    return encode_tree(tree)


def _bitflip(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return bytes([rng.getrandbits(8)])
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _byte_set(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return bytes([rng.choice(INTERESTING_BYTES)])
    out = bytearray(data)
    out[rng.randrange(len(out))] = rng.choice(INTERESTING_BYTES)
    return bytes(out)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))] if data else data


def _insert(rng: random.Random, data: bytes) -> bytes:
    at = rng.randint(0, len(data))
    chunk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16)))
    return data[:at] + chunk + data[at:]


def _delete(rng: random.Random, data: bytes) -> bytes:
    if len(data) < 2:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, min(32, len(data) - start)):]


def _duplicate(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    chunk = data[start: start + rng.randint(1, 64)]
    return data[:start] + chunk * rng.randint(2, 50) + data[start:]


BLIND: list[Callable[[random.Random, bytes], bytes]] = [
    _bitflip, _byte_set, _truncate, _insert, _delete, _duplicate,
]


def splice(rng: random.Random, data: bytes, other: bytes) -> bytes:
    """The head of ``data`` and the tail of ``other``."""
    return data[: rng.randint(0, len(data))] + other[rng.randint(0, len(other)):]


STRUCTURED_MAX = 256 << 10  # bytes; a larger message is mutated blindly (parsing is slow)
Mutator = Callable[[bytes, int], bytes]  # libFuzzer's (data, max_size) -> data, if present


def mutate(rng: random.Random, type_name: str | None, data: bytes, others: Sequence[bytes],
           external: Mutator | None = None) -> bytes:
    """``data`` after 1 to 4 mutations, about half of them schema-aware; ``others`` are
    requests of the same RPC to splice with; ``external`` (atheris's libFuzzer mutator)
    takes a share when given."""
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
        roll = rng.random()
        if external is not None and roll < 0.2:
            data = external(data, max(64, 2 * len(data)))
        elif roll < 0.6 and len(data) < STRUCTURED_MAX:
            data = _structured(rng, type_name, data) or rng.choice(BLIND)(rng, data)
        elif roll < 0.7 and others:
            data = splice(rng, data, rng.choice(others))
        else:
            data = rng.choice(BLIND)(rng, data)
    return data
