"""The commands of ``tests/interop/go``: a Go worker and client (go.uber.org/cadence over gRPC) and the Cadence
CLI (github.com/uber/cadence/tools/cli), built once from the Go module proxy into
``~/.cache/wfkit/interop-go-<hash of its sources>/`` (like the Cadence server), and run as processes."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

MODULE = Path(__file__).parent / "go"
SOURCES = ("go.mod", "go.sum", "cmd/gocadence/main.go", "cmd/cadence-cli/main.go")


def cache_dir() -> Path:
    digest = hashlib.sha256(b"".join((MODULE / s).read_bytes() for s in SOURCES)).hexdigest()[:12]
    base = Path(os.environ.get("WFKIT_CACHE_DIR") or Path.home() / ".cache" / "wfkit")
    return base / f"interop-go-{digest}"


def build(name: str = "gocadence") -> str:
    """A command of the module (``gocadence``, ``cadence-cli``), built on first use (a file lock makes
    concurrent builds wait for each other)."""
    go = shutil.which("go")
    d = cache_dir()
    exe = d / name
    if exe.exists():
        return str(exe)
    if go is None:
        pytest.fail("Go is needed to build the Go interop commands (tests/interop/go); make setup checks for it")
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exe.exists():
            return str(exe)
        env = {**os.environ, "GOWORK": "off", "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false"}
        tmp = d / f".{name}.tmp-{os.getpid()}"
        r = subprocess.run([go, "build", "-trimpath", "-o", str(tmp), f"./cmd/{name}"], cwd=MODULE, env=env,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        (d / f"build-{name}.log").write_text(r.stdout + r.stderr)
        if r.returncode != 0:
            pytest.fail(f"building tests/interop/go ./cmd/{name} failed: {r.stderr[-2000:]}")
        os.replace(tmp, exe)
    return str(exe)


class GoCadence:
    """Runs the Go client's commands against one Cadence server (gRPC frontend) and domain."""

    def __init__(self, exe: str, address: str, domain: str):
        self.exe, self.address, self.domain = exe, address, domain

    def _argv(self, command: str, **flags: Any) -> list[str]:
        argv = [self.exe, "-address", self.address, "-domain", self.domain, command]
        for k, v in flags.items():
            if v is not None:
                argv += [f"-{k}", json.dumps(v) if k == "input" else str(v)]  # input: one JSON value
        return argv

    def __call__(self, command: str, **flags: Any) -> dict[str, Any]:
        r = subprocess.run(self._argv(command, **flags), capture_output=True, text=True, timeout=90,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise AssertionError(f"gocadence {command} failed: {r.stderr[-2000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    @contextlib.contextmanager
    def worker(self, tasklist: str) -> Iterator[subprocess.Popen[str]]:
        """The Go worker serving ``tasklist`` until the block ends."""
        p = subprocess.Popen(self._argv("worker", tasklist=tasklist), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert p.stdout is not None and json.loads(p.stdout.readline()) == {"worker": "started"}
            yield p
        finally:
            assert p.stdin is not None
            p.stdin.close()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def cadence_cli(exe: str, address: str, domain: str, *args: str) -> str:
    """The Cadence CLI over gRPC against one server and domain; its standard output."""
    r = subprocess.run([exe, "--address", address, "--transport", "grpc", "--domain", domain, *args],
                       capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError(f"cadence {' '.join(args[:2])} failed: {(r.stdout + r.stderr)[-2000:]}")
    return r.stdout
