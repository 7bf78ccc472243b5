"""The worker's logs: the JSON format, the access log's line per RPC, and quiet HTTP/2
layers, in process and from ``python -m eager_async serve``'s stderr."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from messages import create, enqueue, handle, op, send

from eager_async import EagerServer
from eager_async._proto import tensorflow as tf
from eager_async._proto.tensorflow import eager as pb
from eager_async.access_log import ACCESS_LOGGER
from eager_async.log_format import HTTP2_LOGGERS, JsonFormatter, configure_logging

FIELDS = {"method", "service", "status", "code", "micros", "context_id", "items",
          "bytes_received", "bytes_sent", "peer"}  # fmt: skip


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Puts back the root logger's handlers and level, and the HTTP/2 loggers' levels,
    after a test that configures logging."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    http2 = {name: logging.getLogger(name).level for name in HTTP2_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in http2.items():
        logging.getLogger(name).setLevel(old)


def test_json_lines_carry_time_level_logger_message_and_fields() -> None:
    record = logging.LogRecord("eager_async.test", logging.WARNING, __file__, 1,
                               "%d ops in %s", (3, "ctx"), None)  # fmt: skip
    record.context_id = 42
    record.path = __file__  # not a JSON type in general: written as text
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "eager_async.test"
    assert parsed["message"] == "3 ops in ctx"
    assert parsed["context_id"] == 42
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", parsed["time"])
    assert "args" not in parsed and "msg" not in parsed


def test_json_lines_carry_the_exception() -> None:
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())  # fmt: skip
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: broken\nacross lines" in json.loads(line)["exception"]


def test_configure_logging_refuses_bad_levels_and_formats(restored_logging: None) -> None:
    with pytest.raises(ValueError, match="--log-level loud: not a logging level"):
        configure_logging("loud")
    with pytest.raises(ValueError, match="--log-format xml: not one of text, json"):
        configure_logging("info", "xml")


def test_http2_loggers_stay_at_warning_unless_asked(restored_logging: None) -> None:
    configure_logging("debug", "text")
    assert logging.getLogger("eager_async.runtime").isEnabledFor(logging.DEBUG)
    for name in (*HTTP2_LOGGERS, "hpack.hpack", "grpclib.server"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
    configure_logging("debug", "text", http2=True)
    assert logging.getLogger("hpack.hpack").isEnabledFor(logging.DEBUG)
    configure_logging("error", "text")  # and never below the level asked for
    assert not logging.getLogger("grpclib.server").isEnabledFor(logging.WARNING)


@pytest.fixture
async def logged() -> AsyncIterator[EagerServer]:
    """A worker writing the access log."""
    async with EagerServer("127.0.0.1", 0, access_log=True) as running:
        yield running


async def test_the_access_log_has_one_line_per_rpc(
    logged: EagerServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    channel = Channel("127.0.0.1", logged.port)
    try:
        stub = pb.EagerServiceStub(channel)
        context_id = (await stub.create_context(create(0))).context_id
        await stub.enqueue(enqueue(context_id, send(1, np.float32(1)),
                                   op(2, "Neg", handle(1), attrs={"T": np.float32})))  # fmt: skip
        with pytest.raises(GRPCError):
            await stub.keep_alive(pb.KeepAliveRequest(context_id=77))
        await tf.WorkerServiceStub(channel).get_status(tf.GetStatusRequest())
    finally:
        channel.close()
    lines = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert [(r.method, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("CreateContext", "OK"), ("Enqueue", "OK"), ("KeepAlive", "ABORTED"),
        ("GetStatus", "OK"),
    ]  # fmt: skip
    create_line, enqueue_line, keep_alive_line, status_line = (r.__dict__ for r in lines)
    assert all(r.levelno == logging.INFO for r in lines)
    assert create_line["context_id"] == context_id  # chosen by the worker, from the reply
    assert enqueue_line["context_id"] == context_id and enqueue_line["items"] == 2
    assert keep_alive_line["context_id"] == 77 and keep_alive_line["items"] is None
    assert keep_alive_line["code"] == Status.ABORTED.value
    assert status_line["context_id"] is None
    assert status_line["service"] == "tensorflow.WorkerService"
    assert enqueue_line["bytes_received"] > 0 and enqueue_line["bytes_sent"] > 0
    assert re.fullmatch(r"127\.0\.0\.1:\d+", enqueue_line["peer"])
    assert re.fullmatch(
        rf"Enqueue OK \d+us context={context_id} items=2 in=\d+ out=\d+ peer=127\.0\.0\.1:\d+",
        lines[1].getMessage(),
    )


async def test_no_access_log_unless_asked(
    server: EagerServer, stub: pb.EagerServiceStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    await stub.create_context(create(0))
    assert not [r for r in caplog.records if r.name == ACCESS_LOGGER]


class Worker:
    """``python -m eager_async serve`` in a subprocess, its stderr read as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eager_async", "serve", "--port", "0", *args],
            env={**os.environ, "EAGER_ASYNC_PURE_PYTHON": "1", **(env or {})},
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []

    async def port(self) -> int:
        """The worker's port, read from its 'listening on' line."""
        assert self.process.stderr is not None
        while line := await asyncio.to_thread(self.process.stderr.readline):
            self.lines.append(line)
            found = re.search(r"worker listening on 127\.0\.0\.1:(\d+)", line)
            if found:
                return int(found.group(1))
        raise AssertionError(f"the worker did not start: {''.join(self.lines)}")

    def stop(self) -> list[str]:
        """SIGTERM it; every line it wrote to stderr."""
        self.process.send_signal(signal.SIGTERM)
        _, rest = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, rest
        return self.lines + rest.splitlines(keepends=True)


async def rpcs_to(port: int) -> None:
    channel = Channel("127.0.0.1", port)
    try:
        stub = pb.EagerServiceStub(channel)
        context_id = (await stub.create_context(create(0))).context_id
        await stub.enqueue(enqueue(context_id, send(1, np.float32(1))))
        with pytest.raises(GRPCError):
            await stub.enqueue(enqueue(context_id + 1, send(1, np.float32(1))))
    finally:
        channel.close()


async def test_serve_json_debug_logs_quiet_http2_and_an_access_line_per_rpc() -> None:
    # The format from the environment, as every flag may be.
    worker = Worker(
        "--log-level", "debug", "--access-log", env={"EAGER_ASYNC_LOG_FORMAT": "json"}
    )  # fmt: skip
    try:
        await rpcs_to(await worker.port())
    finally:
        lines = worker.stop()
    parsed: list[dict[str, Any]] = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(parsed[0])
    # The same RPCs make hpack log at DEBUG when asked (the test after this one).
    loggers = {line["logger"] for line in parsed}
    assert not {name for name in loggers if name.split(".")[0] in HTTP2_LOGGERS}
    access = [line for line in parsed if line["logger"] == ACCESS_LOGGER]
    assert [(a["method"], a["status"]) for a in access] == [
        ("CreateContext", "OK"), ("Enqueue", "OK"), ("Enqueue", "ABORTED"),
    ]  # fmt: skip
    assert all(set(line) >= FIELDS for line in access)
    assert access[1]["items"] == 1


async def test_serve_logs_http2_frames_when_asked() -> None:
    worker = Worker("--log-level", "debug", env={"EAGER_ASYNC_LOG_HTTP2": "1"})
    try:
        await rpcs_to(await worker.port())
    finally:
        lines = worker.stop()
    text = "".join(lines)
    assert " DEBUG hpack." in text  # HPACK logs every header block it codes at DEBUG
    assert ACCESS_LOGGER not in text


def test_serve_refuses_a_bad_log_format_from_flag_or_environment() -> None:
    for args, env in ((["--log-format", "xml"], {}), ([], {"EAGER_ASYNC_LOG_FORMAT": "xml"})):
        done = subprocess.run(
            [sys.executable, "-m", "eager_async", "serve", *args],
            env={**os.environ, "EAGER_ASYNC_PURE_PYTHON": "1", **env},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2
        assert "--log-format: not one of text, json: 'xml'" in done.stderr
