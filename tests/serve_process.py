"""``python -m eager_async serve --port 0`` in a subprocess, for the tests that need a
worker process of its own (signals, flags from the environment)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Mapping


@contextlib.asynccontextmanager
async def serve_process(
    env: Mapping[str, str],
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """The worker (``env`` added to this process's environment) and the port its
    "listening on" line names; killed at the end if it is still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "eager_async", "serve", "--port", "0",
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **env},
    )  # fmt: skip
    try:
        assert process.stderr is not None
        port = 0
        while not port:
            line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            assert line, "the worker exited before it listened"
            if "listening on" in line:
                port = int(line.rsplit(":", 1)[1])
        yield process, port
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
