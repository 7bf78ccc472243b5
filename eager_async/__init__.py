"""eager_async: TensorFlow's remote eager execution service (EagerService), asyncio-native.

>>> async with eager_async.serve(port=0) as server:        # doctest: +SKIP
...     async with eager_async.EagerClient("127.0.0.1", server.port) as client:
...         ...

The public names load on first use (PEP 562), so ``import eager_async`` alone stays
cheap: a CLI's ``--help`` or a worker's startup pays only for what it touches.
``from eager_async import serve`` works as usual.
"""

from .compilation import prefer_source

prefer_source()

import importlib
import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

# Which submodule defines each public name.
_HOMES = {
    "EagerClient": "client",
    "RemoteContext": "client",
    "RemoteTensor": "client",
    "AlreadyExistsError": "errors",
    "CancelledError": "errors",
    "ContextNotFoundError": "errors",
    "EagerError": "errors",
    "FailedPreconditionError": "errors",
    "InvalidArgumentError": "errors",
    "NotFoundError": "errors",
    "ResourceExhaustedError": "errors",
    "UnimplementedError": "errors",
    "Limits": "limits",
    "Runtime": "runtime",
    "RuntimeOptions": "runtime",
    "Security": "security",
    "EagerServer": "server",
    "serve": "server",
}


def __getattr__(name: str) -> object:
    """A public name, imported from its submodule on first use and kept; or a submodule
    (``eager_async.health`` after a bare ``import eager_async``), imported on first use."""
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(f".{home}", __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the public ones not yet loaded included."""
    return sorted({*globals(), *__all__})
