"""What ``python -m eager_async`` says when it cannot run: one error line, no traceback,
and an exit status that tells usage errors (2) from an address it cannot bind (3)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from eager_async.cli import main as cli_main
from eager_async.exit_status import ExitStatus


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eager_async", "serve", *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "EAGER_ASYNC_PURE_PYTHON": "1"},
    )  # fmt: skip


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and stderr.rstrip("\n").endswith(errors[0]), stderr
    return errors[0]


def test_version_names_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"eager_async {metadata.version('eager_async')}\n"


def test_a_port_in_use_is_one_line_and_status_3() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = _serve("--port", str(port))
    assert refused.returncode == ExitStatus.CANNOT_LISTEN
    line = _one_error_line(refused.stderr)
    assert line == (f"python -m eager_async serve: error: cannot listen on 127.0.0.1:{port}: "
                    "Address already in use")  # fmt: skip


def test_an_address_not_of_this_host_is_status_3() -> None:
    refused = _serve("--host", "192.0.2.1", "--port", "0")  # TEST-NET-1: nobody's
    assert refused.returncode == ExitStatus.CANNOT_LISTEN
    assert "cannot listen on 192.0.2.1:0" in _one_error_line(refused.stderr)


@pytest.mark.parametrize(("args", "message"), [
    (["--log-level", "nope"], "--log-level nope: not a logging level"),
    (["--port", "70000"], "argument --port: not a port: 70000"),
    (["--port", "http"], "argument --port: "),
    (["--max-tensor-bytes", "12Q"], "not a size: '12Q'"),
    (["--memory-bytes", "-1"], "must be at least 1, got '-1'"),
    (["--threads", "0"], "--threads 0: must be at least 1"),
    (["--token-file", "{directory}"], "--token-file {directory}: Is a directory"),
    (["--tls-cert", "{directory}/missing.pem"], "No such file or directory"),
])  # fmt: skip
def test_bad_serve_flags_are_one_line_and_status_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(["serve", "--port", "0", *(a.format(directory=tmp_path) for a in args)])
    assert exited.value.code == ExitStatus.USAGE
    assert message.format(directory=tmp_path) in _one_error_line(capsys.readouterr().err)


def test_a_bad_log_level_from_the_environment_is_a_usage_error() -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "eager_async", "serve", "--port", "0"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "EAGER_ASYNC_PURE_PYTHON": "1", "EAGER_ASYNC_LOG_LEVEL": "loud"},
    )  # fmt: skip
    assert refused.returncode == ExitStatus.USAGE
    assert "--log-level loud: not a logging level" in _one_error_line(refused.stderr)
