"""Which files a client may have the worker read and write, and the few file operations
the checkpoint ops make, with TensorFlow's statuses.

A network service must not let every client read and write files on its machine, so by
default it lets none: ``FileRoot.of(env, op)`` answers PERMISSION_DENIED unless the worker
was started with ``--allow-file-io DIR`` (``RuntimeOptions.file_root``). Then a path
is allowed when, with symlinks and ``..`` resolved, it lies inside DIR. Every path an op
touches is checked, not only the prefix it was given: ``<prefix>.index`` could be a
symlink leading elsewhere. The check and the use are two steps, so someone who can
change the directory tree between them (a local user, not a client: the ops create no
links) could still redirect a write; keep DIR writable by the worker only.

>>> root = FileRoot(Path("/srv/ckpt"), "SaveV2")                # doctest: +SKIP
>>> root.check("/srv/ckpt/run1/ckpt-1.index")                  # doctest: +SKIP
>>> root.check("/srv/ckpt/../etc/passwd")                      # doctest: +SKIP
Traceback (most recent call last):
eager_async.errors.PermissionDeniedError: SaveV2: /srv/ckpt/../etc/passwd is outside ...
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from ...errors import (
    EagerError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
)

__all__ = [
    "FileEnv",
    "FileRoot",
    "as_path",
    "atomic_writer",
    "make_parent",
    "os_errors",
    "read_bytes",
]

FLAG = "--allow-file-io"


class FileEnv(Protocol):
    """What the file ops need of their ``env``: the directory clients may use, if any."""

    @property
    def file_root(self) -> Path | None:
        """Where clients may read and write files; None: nowhere."""
        ...


def as_path(path: bytes, op: str) -> str:
    """A path a client sent, as this OS names files; INVALID_ARGUMENT for a NUL byte."""
    if b"\0" in path:
        raise InvalidArgumentError(f"{op}: the path {path!r} has a NUL byte")
    return os.fsdecode(path)


@dataclass(frozen=True, slots=True)
class FileRoot:
    """The directory clients' files must lie in (resolved), for op ``op``'s messages."""

    root: Path
    op: str

    @classmethod
    def of(cls, env: FileEnv, op: str) -> FileRoot:
        """The worker's file root for ``op``; PERMISSION_DENIED when it has none."""
        root = env.file_root
        if root is None:
            raise PermissionDeniedError(
                f"{op} reads and writes files on the worker's machine, which this worker "
                f"does not let clients do: start it with {FLAG} DIR to allow files under DIR"
            )
        return cls(Path(os.path.realpath(root)), op)

    def contains(self, path: str) -> bool:
        """Whether ``path``, resolved, lies inside the root."""
        real = Path(os.path.realpath(path))
        return real == self.root or self.root in real.parents

    def check(self, path: str) -> None:
        """PERMISSION_DENIED unless ``path``, resolved, lies inside the root."""
        if not self.contains(path):
            raise PermissionDeniedError(
                f"{self.op}: {path} is outside {self.root}, the directory this worker lets "
                f"clients read and write ({FLAG}); use a path inside it"
            )


_STATUSES: dict[int, type[EagerError]] = {
    errno.ENOENT: NotFoundError,
    errno.EACCES: PermissionDeniedError,
    errno.EPERM: PermissionDeniedError,
    errno.EROFS: PermissionDeniedError,
    errno.ENOSPC: ResourceExhaustedError,
    errno.EDQUOT: ResourceExhaustedError,
}


@contextlib.contextmanager
def os_errors() -> Iterator[None]:
    """Turn the OS's file errors into TF's statuses and messages (``<path>; <reason>``):
    NOT_FOUND, PERMISSION_DENIED, RESOURCE_EXHAUSTED (a full disk), and FAILED_PRECONDITION
    for the rest (a directory where a file should be, ...)."""
    try:
        yield
    except OSError as error:
        status = _STATUSES.get(error.errno or 0, FailedPreconditionError)
        where = error.filename if error.filename is not None else "file system"
        raise status(f"{os.fsdecode(where)}; {error.strerror or error}") from None


def read_bytes(path: str, offset: int = 0, size: int = -1) -> bytes:
    """``size`` bytes of the file at ``offset`` (all of it by default)."""
    with open(path, "rb") as file:
        file.seek(offset)
        return file.read(size)


def make_parent(path: str) -> None:
    """Create the directory ``path`` is in, one level only, as TF's ``CreateDir`` does."""
    directory = os.path.dirname(path)
    if directory:
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory)


@contextlib.contextmanager
def atomic_writer(path: str) -> Iterator[IO[bytes]]:
    """A file that appears at ``path`` whole once the block ends, and not at all if it
    raises: written under a temporary name beside it, then renamed (as TF does on file
    systems with an atomic rename)."""
    temporary = f"{path}.tempstate{secrets.randbits(63)}"
    try:
        file = open(temporary, "xb")  # noqa: SIM115 (closed below, before the rename)
    except OSError as error:  # name the directory, not our temporary file
        error.filename = os.path.dirname(path) or "."
        raise
    try:
        with file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
