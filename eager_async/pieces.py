"""A serialized message held as the pieces it is made of, so that it reaches the socket
without being joined into one more copy.

grpclib frames a reply as ``prefix + message``: with a ``Pieces`` message that sum is one
more piece (``__radd__``), not a copy of a large tensor.

>>> message = Pieces([b"\\x0a\\x02", memoryview(b"hi")])
>>> len(message), (b"\\x00" + message).join()
(4, b'\\x00\\n\\x02hi')
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Pieces"]


class Pieces:
    """The bytes of a message as a sequence of byte views (none of them empty), read
    by the transport after the call that sends them returns: the buffers they view must
    not change."""

    __slots__ = ("size", "views")

    def __init__(self, parts: Iterable[bytes | memoryview]) -> None:
        # cast("B"): the length of a view of a typed array is in bytes from here on.
        self.views = tuple(memoryview(part).cast("B") for part in parts if len(part))
        self.size = sum(map(len, self.views))

    def __len__(self) -> int:
        return self.size

    def __radd__(self, head: bytes) -> Pieces:
        """``head`` followed by these pieces: how grpclib prefixes a message."""
        return Pieces((head, *self.views))

    def join(self) -> bytes:
        """All the bytes, as one object (a copy)."""
        return b"".join(self.views)
