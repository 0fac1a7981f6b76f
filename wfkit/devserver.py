"""Embedded servers for notebooks, tests and demos, and the one process manager every engine's server uses.

``start(engine)`` asks the engine plugin for its embedded server (``Engine.dev_server``): the Temporal CLI dev
server lives in the Temporal adapter, the Cadence server (built from Cadence's Go modules) in the Cadence adapter.
Both run under :class:`ServerProcess`: bound to 127.0.0.1, in their own process group, with an explicit
environment, killed at interpreter exit and, on Linux, when the parent process dies, so no orphan outlives a
crashed test session.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import DevServerError

if TYPE_CHECKING:
    from .engine import DevServer

HOST = "127.0.0.1"

__all__ = [
    "HOST",
    "DevServerError",
    "ServerProcess",
    "ensure_port_free",
    "free_port",
    "port_open",
    "start",
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


_prctl: Any = None


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent dies (Linux), or None elsewhere.

    The C function is looked up here, in the parent: between fork and exec the child only calls it (no import,
    no allocation, no lock), which keeps the fork safe while the parent runs other threads (gRPC, asyncio).
    """
    global _prctl
    if not sys.platform.startswith("linux"):
        return None
    if _prctl is None:
        try:
            import ctypes

            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            _prctl = False
    if not _prctl:
        return None
    prctl = _prctl

    def set_pdeathsig() -> None:
        prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL

    return set_pdeathsig


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file (reads at most its last 64 KiB)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


_live: set[ServerProcess] = set()
_live_lock = threading.Lock()


class ServerProcess:
    """A server child process: its own session and process group, output appended to a log file, an explicit
    environment (nothing inherited unless the caller passes it), killed at exit and when its parent dies."""

    def __init__(self, argv: Sequence[str], *, log_path: Path, env: Mapping[str, str], cwd: str | Path | None = None,
                 name: str = "server"):
        self.name = name
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - the server writes to it until stop()
        self._log.write(f"$ {' '.join(argv)}\n".encode())
        self._log.flush()
        try:
            self.proc = subprocess.Popen(list(argv), stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=dict(env), cwd=cwd, start_new_session=True,
                                         preexec_fn=_die_with_parent())  # noqa: PLW1509 - fork-safe, see above
        except BaseException:
            self._log.close()
            raise
        with _live_lock:
            _live.add(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

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
        """SIGTERM the whole process group, SIGKILL it after ``timeout``; idempotent.

        The group is signalled only while its leader is unreaped (running, or a zombie waited for with
        ``WNOWAIT``): once reaped, its PID, the group's ID, can be given to a new process of someone else's
        (PIDs wrap quickly where pid_max is 32768), and a late ``killpg`` would kill that one instead."""
        with _live_lock:
            _live.discard(self)
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            if not self._exited(timeout):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self._exited(10)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group, the leader still unreaped
            self.proc.wait(10)
        with contextlib.suppress(OSError):
            self._log.close()

    def _exited(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the leader to exit, without reaping it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    return True
            except ChildProcessError:  # reaped meanwhile (e.g. by a poll())
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL the process group at once (a crash, for tests of recovery)."""
        if self.proc.returncode is not None:   # reaped: its group's ID may belong to another process now
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        procs = list(_live)
    for p in procs:
        with contextlib.suppress(Exception):
            p.stop(timeout=5)


def start(engine: str, *, port: int | None = None, db: str | None = None, build: bool = False,
          namespace: str = "default") -> DevServer:
    """Start the embedded server of the engine plugin ``engine`` (``Engine.dev_server``)."""
    from ._engines import get_engine

    return get_engine(engine).dev_server(port=port, db=db, build=build, namespace=namespace)
