"""The generated protocol code matches proto/, and the public API is what we curate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import eager_async

ROOT = Path(__file__).resolve().parents[1]


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    """Fails when proto/ changed without ``make proto``."""
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}",
         f"--python_betterproto2_out={tmp_path}",
         "--python_betterproto2_opt=client_generation=async,server_generation=async", *protos],
        check=True, env=env, capture_output=True, cwd=ROOT,
    )
    committed = ROOT / "eager_async" / "_proto"
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.py")}
    current = {p.relative_to(committed): p.read_text() for p in committed.rglob("*.py")}
    assert fresh.keys() == current.keys()
    stale = [str(name) for name in fresh if fresh[name] != current[name]]
    assert not stale, f"eager_async/_proto is stale, run 'make proto': {stale}"
    descriptors = tmp_path / "eager_service.desc"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}", "--include_imports",
         f"--descriptor_set_out={descriptors}", *protos],
        check=True, capture_output=True, cwd=ROOT,
    )
    assert descriptors.read_bytes() == (committed / "eager_service.desc").read_bytes(), (
        "eager_async/_proto/eager_service.desc is stale, run 'make proto'"
    )


def test_public_api() -> None:
    exported = set(eager_async.__all__)
    assert exported == {
        "AlreadyExistsError", "CancelledError", "ContextNotFoundError", "EagerClient",
        "EagerError", "EagerServer", "FailedPreconditionError", "InvalidArgumentError",
        "Limits", "NotFoundError", "RemoteContext", "RemoteTensor", "ResourceExhaustedError",
        "Runtime", "RuntimeOptions", "Security", "UnimplementedError", "serve",
    }
    for name in exported:
        assert getattr(eager_async, name).__doc__, f"{name} has no docstring"
