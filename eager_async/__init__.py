"""eager_async: TensorFlow's remote eager execution service (EagerService), asyncio-native.

>>> async with eager_async.serve(port=0) as server:        # doctest: +SKIP
...     async with eager_async.EagerClient("127.0.0.1", server.port) as client:
...         ...
"""

from .compilation import prefer_source

prefer_source()

from .client import EagerClient, RemoteContext, RemoteTensor
from .errors import (
    AlreadyExistsError,
    CancelledError,
    ContextNotFoundError,
    EagerError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnimplementedError,
)
from .limits import Limits
from .runtime import Runtime, RuntimeOptions
from .security import Security
from .server import EagerServer, serve

__all__ = [
    "AlreadyExistsError",
    "CancelledError",
    "ContextNotFoundError",
    "EagerClient",
    "EagerError",
    "EagerServer",
    "FailedPreconditionError",
    "InvalidArgumentError",
    "Limits",
    "NotFoundError",
    "RemoteContext",
    "RemoteTensor",
    "ResourceExhaustedError",
    "Runtime",
    "RuntimeOptions",
    "Security",
    "UnimplementedError",
    "serve",
]

__version__ = "0.1.0"
