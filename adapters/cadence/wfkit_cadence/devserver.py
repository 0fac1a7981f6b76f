"""A real Cadence server (v1.4.1, SQLite store) on 127.0.0.1, started and stopped from Python.

The server is built from Cadence's Go modules by the small wrapper module in ``server/`` beside this file
(``go build``, Go module proxy only) and cached outside the repository, keyed by version::

    ${WFKIT_CACHE_DIR:-~/.cache/wfkit}/cadence-v1.4.1/{cadence-server,cadence-sql-tool}

``WFKIT_CADENCE_SERVER`` may name a directory that already holds both binaries instead.

Cadence's schema files (``schema/sqlite/...``) and config files (``config/base.yaml``,
``config/development.yaml``, ``config/dynamicconfig/development.yaml``) are read from the Go module cache
(``go env GOMODCACHE``), where the build put the ``github.com/uber/cadence@v1.4.1`` source. Each run gets a
config dir with links to those files plus a zone file of ours that moves every port to a free one, points the
SQLite stores at the run's files and turns archival off, so several servers can run at once, and a copy of the
dynamic config with ``DYNAMIC_CONFIG_OVERRIDES`` added (the transfer queue polled without a 20/s cap).

This module uses only the standard library at import time; the gRPC stubs of cadence-python-client are
imported when a server is started.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

from wfkit.engine import DevServerError, ServerProcess, ensure_port_free, free_port, port_open, tail

__all__ = [
    "CADENCE_VERSION",
    "CadenceDevServer",
    "DevServerError",
    "cache_dir",
    "cadence_binaries",
    "cadence_source_dir",
]

CADENCE_VERSION = "v1.4.1"
CADENCE_MODULE = "github.com/uber/cadence"
SYSTEM_DOMAIN = "cadence-system"
HOST = "127.0.0.1"
ZONE = "wfkit"
SERVICES = ("frontend", "history", "matching", "worker")
SERVER_BIN = "cadence-server"
SQLTOOL_BIN = "cadence-sql-tool"
SERVER_MODULE_DIR = Path(__file__).resolve().parent / "server"

_DOMAIN_CACHE_MIN_REFRESH = 1.1  # Cadence's domainCacheMinRefreshInterval (1 s) plus a margin

_YARPC_METADATA = (
    ("rpc-service", "cadence-frontend"),
    ("rpc-caller", "wfkit-devserver"),
    ("rpc-encoding", "proto"),
)


# --------------------------------------------------------------------------------------------- binaries

def cache_dir(version: str = CADENCE_VERSION) -> Path:
    """Where the binaries of ``version`` are cached (``$WFKIT_CACHE_DIR`` or ``~/.cache/wfkit``)."""
    root = os.environ.get("WFKIT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "wfkit")
    return Path(root) / f"cadence-{version}"


def _is_exe(p: Path) -> bool:
    return p.is_file() and os.access(p, os.X_OK)


def _pinned_version() -> str:
    """The github.com/uber/cadence version that server/go.mod requires."""
    try:
        text = (SERVER_MODULE_DIR / "go.mod").read_text()
    except OSError:
        return CADENCE_VERSION
    m = re.search(r"^\s*(?:require\s+)?github\.com/uber/cadence\s+(v\S+)", text, re.MULTILINE)
    return m.group(1) if m else CADENCE_VERSION


def cadence_binaries(build: bool = False, version: str = CADENCE_VERSION) -> tuple[str, str]:
    """Paths of ``(cadence-server, cadence-sql-tool)`` for ``version``.

    Looks in ``$WFKIT_CADENCE_SERVER`` (a directory with both binaries) if set, else in the cache. When they are
    not there, ``build=True`` builds them with Go (several minutes on a fresh machine); otherwise a one-line
    ``DevServerError`` says how.
    """
    named = os.environ.get("WFKIT_CADENCE_SERVER")
    if named:
        d = Path(named)
        server, tool = d / SERVER_BIN, d / SQLTOOL_BIN
        if not (_is_exe(server) and _is_exe(tool)):
            raise DevServerError(f"WFKIT_CADENCE_SERVER={named} must be a directory holding the executables "
                                 f"{SERVER_BIN} and {SQLTOOL_BIN}: fix or unset it")
        return str(server), str(tool)
    d = cache_dir(version)
    server, tool = d / SERVER_BIN, d / SQLTOOL_BIN
    if _is_exe(server) and _is_exe(tool):
        return str(server), str(tool)
    if not build:
        raise DevServerError(f"Cadence server {version} is not built yet: "
                             "run `wfkit devserver cadence --build` (needs Go)")
    build_binaries(version)
    return str(server), str(tool)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise DevServerError("Go is needed to build the Cadence server and `go` is not on PATH: "
                             "install Go 1.24 or newer (e.g. `apt-get install golang-go`) and retry")
    return go


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GOWORK"] = "off"          # never pick up a go.work from an enclosing directory
    env.setdefault("GOFLAGS", "")
    env["GOFLAGS"] = (env["GOFLAGS"] + " -mod=readonly -buildvcs=false").strip()
    env.setdefault("CGO_ENABLED", "0")  # pure Go (the SQLite driver is WebAssembly run by wazero)
    return env


def build_binaries(version: str = CADENCE_VERSION, *, log: Path | None = None) -> tuple[str, str]:
    """Build ``cadence-server`` and ``cadence-sql-tool`` into the cache (atomic: temp name, then rename).

    Concurrent callers wait for each other (file lock) and the second one finds the binaries built.
    """
    pinned = _pinned_version()
    if version != pinned:
        raise DevServerError(f"this wfkit builds Cadence {pinned} only (asked for {version}): "
                             f"use version={pinned!r} or set WFKIT_CADENCE_SERVER to a prebuilt server")
    go = _go()
    d = cache_dir(version)
    d.mkdir(parents=True, exist_ok=True)
    log = log or d / "build.log"
    server, tool = d / SERVER_BIN, d / SQLTOOL_BIN
    with open(d / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_exe(server) and _is_exe(tool):
            return str(server), str(tool)
        for stale in d.glob(".cadence-*.tmp-*"):  # left by a killed build (we hold the lock)
            with contextlib.suppress(OSError):
                stale.unlink()
        env = _go_env()
        with open(log, "wb") as out:
            for name, pkg in ((SERVER_BIN, "./cmd/cadence-server"), (SQLTOOL_BIN, "./cmd/cadence-sql-tool")):
                final = d / name
                if _is_exe(final):
                    continue
                tmp = d / f".{name}.tmp-{os.getpid()}"
                cmd = [go, "build", "-trimpath", "-o", str(tmp), pkg]
                out.write(f"$ (cd {SERVER_MODULE_DIR} && {' '.join(cmd)})\n".encode())
                out.flush()
                t0 = time.monotonic()
                try:
                    rc = subprocess.call(cmd, cwd=SERVER_MODULE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
                except BaseException:
                    with contextlib.suppress(OSError):
                        tmp.unlink()
                    raise
                out.write(f"# exit {rc} after {time.monotonic() - t0:.0f} s\n".encode())
                out.flush()
                if rc != 0:
                    with contextlib.suppress(OSError):
                        tmp.unlink()
                    raise DevServerError(f"building the Cadence server failed (go build exited {rc}): "
                                         f"full output in {log}")
                os.replace(tmp, final)
    _prewarm(str(tool), version)
    return str(server), str(tool)


def _prewarm(sqltool: str, version: str) -> None:
    """Create a throw-away schema once, so SQLite's WebAssembly is compiled into the cache now and the first
    server start does not pay for it (best effort)."""
    with contextlib.suppress(Exception), tempfile.TemporaryDirectory(prefix="wfkit-cadence-warm-") as d:
        p = Path(d)
        setup_schemas(sqltool, p / "c.db", p / "v.db", cadence_source_dir(version), p / "log")


# ------------------------------------------------------------------------------------- module source

def _module_cache_candidates() -> list[Path]:
    out = []
    if os.environ.get("GOMODCACHE"):
        out.append(Path(os.environ["GOMODCACHE"]))
    gopath = os.environ.get("GOPATH")
    if gopath:
        out += [Path(p) / "pkg" / "mod" for p in gopath.split(os.pathsep) if p]
    out.append(Path(os.path.expanduser("~")) / "go" / "pkg" / "mod")
    return out


def _looks_like_source(p: Path) -> bool:
    return (p / "schema" / "sqlite").is_dir() and (p / "config" / "base.yaml").is_file()


_source_dirs: dict[str, Path] = {}


def cadence_source_dir(version: str = CADENCE_VERSION) -> Path:
    """The ``github.com/uber/cadence@version`` source in the Go module cache (schema and config files).

    Downloads it with ``go mod download`` when Go is there and the cache lacks it.
    """
    if version in _source_dirs:
        return _source_dirs[version]
    rel = f"{CADENCE_MODULE}@{version}"
    for cache in _module_cache_candidates():
        if _looks_like_source(cache / rel):
            _source_dirs[version] = cache / rel
            return cache / rel
    go = shutil.which("go")
    if go is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
            gomodcache = subprocess.run([go, "env", "GOMODCACHE"], check=False, capture_output=True, text=True,
                                        env=_go_env(), timeout=60).stdout.strip()
            if gomodcache and _looks_like_source(Path(gomodcache) / rel):
                _source_dirs[version] = Path(gomodcache) / rel
                return _source_dirs[version]
        with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
            res = subprocess.run([go, "mod", "download", "-json", rel], check=False, capture_output=True, text=True,
                                 cwd=SERVER_MODULE_DIR, env=_go_env(), timeout=600)
            info = json.loads(res.stdout or "{}")
            if info.get("Dir") and _looks_like_source(Path(info["Dir"])):
                _source_dirs[version] = Path(info["Dir"])
                return _source_dirs[version]
    raise DevServerError(f"the source of {rel} (Cadence's schema and config files) is not in the Go module cache: "
                         "run `wfkit devserver cadence --build` (needs Go)")


# ------------------------------------------------------------------------------------------- schema

def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def _latest_schema_version(versioned: Path) -> str:
    versions = [p.name[1:] for p in versioned.iterdir() if p.is_dir() and re.fullmatch(r"v\d+(\.\d+)*", p.name)]
    if not versions:
        raise DevServerError(f"no versioned schema directories in {versioned}")
    return max(versions, key=_version_key)


def _schema_version(db: Path) -> str | None:
    """The schema version the sql tool recorded for ``db`` (None when it has none)."""
    if not db.exists() or db.stat().st_size == 0:
        return None
    try:
        # a plain open (no URI, so no quoting issues); it only reads, also a WAL left by a killed server
        con = sqlite3.connect(db, timeout=5)
        try:
            row = con.execute("SELECT curr_version FROM schema_version WHERE db_name = ?", (str(db),)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _child_env() -> dict[str, str]:
    """Environment of the server and the sql tool: no CADENCE_* overrides of our flags, and an on-disk cache
    of SQLite's compiled WebAssembly (saves about a second per process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env.setdefault("WFKIT_WAZERO_CACHE", str(cache_dir() / "wazero"))
    return env


def _run_tool(argv: list[str], log: Path, what: str) -> None:
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=_child_env())
    if rc != 0:
        raise DevServerError(f"{what} failed (exit {rc}); last lines of {log}:\n{tail(log)}")


def ensure_schema(sqltool: str, db: Path, versioned: Path, log: Path) -> bool:
    """Create or update the SQLite schema of ``db`` from ``versioned``; True when the tool had to run."""
    latest = _latest_schema_version(versioned)
    current = _schema_version(db)
    if current is not None and _version_key(current) >= _version_key(latest):
        return False
    base = [sqltool, "--plugin", "sqlite", "--db", str(db), "--quiet"]
    what = f"{'creating' if current is None else 'updating'} the Cadence schema in {db}"
    if current is None:
        _run_tool(base + ["setup-schema", "-v", "0.0"], log, what)
    _run_tool(base + ["update-schema", "-d", str(versioned)], log, what)
    # the tool reports some failures with exit code 0: check what it left
    done = _schema_version(db)
    if done is None or _version_key(done) < _version_key(latest):
        raise DevServerError(f"{what} failed (schema version {done or 'none'}, wanted {latest}); "
                             f"last lines of {log}:\n{tail(log)}")
    return True


def db_paths(db: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(main store, visibility store) files for ``db``: a directory gets cadence.db and cadence_visibility.db;
    a file path ``x.db`` gets ``x.db`` and ``x_visibility.db`` beside it."""
    p = Path(db).expanduser().absolute()
    if p.is_dir() or str(db).endswith(os.sep):
        return p / "cadence.db", p / "cadence_visibility.db"
    suffix = p.suffix or ".db"
    return p, p.with_name(f"{p.stem}_visibility{suffix}")


def setup_schemas(sqltool: str, main_db: Path, vis_db: Path, source: Path, log: Path) -> bool:
    """Create/update both SQLite databases; True when anything had to be done."""
    schema = source / "schema" / "sqlite"
    a = ensure_schema(sqltool, main_db, schema / "cadence" / "versioned", log)
    b = ensure_schema(sqltool, vis_db, schema / "visibility" / "versioned", log)
    return a or b


# ------------------------------------------------------------------------------------------- ports

def _free_ports(n: int, exclude: set[int]) -> list[int]:
    """``n`` distinct free ports (held open together while picking so they differ)."""
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((HOST, 0))
            p = s.getsockname()[1]
            if p not in exclude:
                ports.append(p)
    finally:
        for s in socks:
            s.close()
    return ports


# ------------------------------------------------------------------------------------------- config

def _zone_config(ports: dict[str, int], main_db: Path, vis_db: Path, rundir: Path, log_level: str) -> dict:
    """Our zone file: overrides every port of development.yaml and points the stores at our SQLite files."""
    def sqlite(path: Path) -> dict:
        return {"sql": {"pluginName": "sqlite", "databaseName": str(path), "maxConns": 1, "maxIdleConns": 1,
                        "maxConnLifetime": "128h"}}

    statsd = {"statsd": {"hostPort": f"{HOST}:{ports['statsd']}", "prefix": "cadence"}}
    services = {}
    for svc in SERVICES:
        rpc: dict[str, Any] = {"port": ports[f"{svc}_tchannel"], "bindOnLocalHost": True}
        if f"{svc}_grpc" in ports:
            rpc["grpcPort"] = ports[f"{svc}_grpc"]
        services[svc] = {"rpc": rpc, "pprof": {"port": 0}, "metrics": statsd}
    disabled = {"status": "disabled", "enableRead": False}
    return {
        "persistence": {
            "defaultStore": "sqlite-default",
            "visibilityStore": "sqlite-visibility",
            "numHistoryShards": 4,
            "datastores": {"sqlite-default": sqlite(main_db), "sqlite-visibility": sqlite(vis_db)},
        },
        "ringpop": {
            "name": f"cadence-wfkit-{ports['frontend_grpc']}",
            "bootstrapMode": "hosts",
            "bootstrapHosts": [f"{HOST}:{ports[f'{s}_tchannel']}" for s in ("frontend", "history", "matching")],
            "maxJoinDuration": "30s",
        },
        "services": services,
        "clusterGroupMetadata": {
            "clusterGroup": {"cluster0": {"rpcAddress": f"{HOST}:{ports['frontend_grpc']}", "rpcTransport": "grpc"}},
        },
        "publicClient": {"hostPort": f"{HOST}:{ports['frontend_grpc']}", "transport": "grpc"},
        "archival": {"history": disabled, "visibility": disabled},
        "domainDefaults": {"archival": {"history": {"status": "disabled"}, "visibility": {"status": "disabled"}}},
        "blobstore": {"filestore": {"outputDirectory": str(rundir / "blobstore")}},
        "shardDistributorClient": {"hostPort": ""},
        "log": {"stdout": True, "level": log_level},
    }


DYNAMIC_CONFIG_OVERRIDES = {
    # The history service polls its transfer queue (which hands new decision and activity tasks to matching) at
    # most 20 times a second by default: a sequential workflow then waits ~50 ms per task, 100 ms per activity
    # step, whatever the worker does. A single-process dev server has the headroom to poll at once.
    "history.transferProcessorMaxPollRPS": 1000,
}
"""Dynamic config keys the dev server sets on top of Cadence's ``config/dynamicconfig/development.yaml``."""


def write_config_dir(rundir: Path, source: Path, zone_cfg: dict) -> Path:
    confdir = rundir / "config"
    confdir.mkdir(parents=True, exist_ok=True)
    for name in ("base.yaml", "development.yaml"):
        link = confdir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(source / "config" / name)
    dynamic = confdir / "dynamicconfig.yaml"
    text = (source / "config" / "dynamicconfig" / "development.yaml").read_text()
    dynamic.write_text(text.rstrip("\n") + "\n" + "".join(
        f"{key}:\n- value: {json.dumps(value)}\n  constraints: {{}}\n"
        for key, value in DYNAMIC_CONFIG_OVERRIDES.items()))
    zone_cfg = {**zone_cfg, "dynamicconfig": {"client": "filebased",
                                              "filebased": {"filepath": str(dynamic), "pollInterval": "10s"}}}
    # JSON is YAML; `$` would be read as an environment variable by Cadence's loader.
    (confdir / f"development_{ZONE}.yaml").write_text(json.dumps(zone_cfg, indent=1).replace("$", "$$"))
    return confdir


# ------------------------------------------------------------------------------------------- process

_RUNDIR_PREFIX = "wfkit-cadence-"


class _PortTaken(DevServerError):
    """The server could not bind a port that was free when it was picked."""


def _remove_stale_rundirs() -> None:
    """Delete the temporary run directories of servers whose Python parent was killed (no ``stop()`` ran):
    those with a ``server.pid`` naming a process that is gone or is no server of that directory."""
    tmp = Path(tempfile.gettempdir())
    for d in tmp.glob(_RUNDIR_PREFIX + "*"):
        try:
            pid = int((d / "server.pid").read_text().strip())
        except (OSError, ValueError):
            continue  # being set up, or not ours
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if str(d).encode() in cmdline and state != "Z":
                continue  # still running
        except (OSError, IndexError):
            pass
        with contextlib.suppress(OSError):  # its log, when it was a temporary one
            Path((d / "log.path").read_text()).unlink()
        shutil.rmtree(d, ignore_errors=True)


_live: set[CadenceDevServer] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for s in servers:
        with contextlib.suppress(Exception):
            s.stop(timeout=5)


def _grpc_call(address: str, fn: str, request: Any, timeout: float) -> Any:
    """One unary call on the frontend (DomainAPI or MetaAPI) with the YARPC headers Cadence wants."""
    import grpc
    from cadence.api.v1 import service_domain_pb2_grpc, service_meta_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        if fn == "Health":
            stub: Any = service_meta_pb2_grpc.MetaAPIStub(channel)
        else:
            stub = service_domain_pb2_grpc.DomainAPIStub(channel)
        return getattr(stub, fn)(request, timeout=timeout, metadata=_YARPC_METADATA)


def register_domain(address: str, domain: str, *, retention_days: int = 1, timeout: float = 10) -> bool:
    """Register ``domain`` on the frontend at ``address``; False when it already existed."""
    import grpc
    from cadence.api.v1 import service_domain_pb2
    from google.protobuf import duration_pb2

    req = service_domain_pb2.RegisterDomainRequest(
        name=domain,
        description="registered by wfkit's Cadence dev server",
        workflow_execution_retention_period=duration_pb2.Duration(seconds=retention_days * 86400),
    )
    try:
        _grpc_call(address, "RegisterDomain", req, timeout)
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.ALREADY_EXISTS:
            return False
        raise
    return True


def describe_domain(address: str, domain: str, *, timeout: float = 10) -> Any:
    """The frontend's DescribeDomainResponse for ``domain``."""
    from cadence.api.v1 import service_domain_pb2

    return _grpc_call(address, "DescribeDomain", service_domain_pb2.DescribeDomainRequest(name=domain), timeout)


class CadenceDevServer:
    """A Cadence server (frontend, history, matching, worker in one process) with the SQLite store.

    Attributes: ``host`` ("127.0.0.1"), ``port`` (frontend gRPC), ``address`` ("127.0.0.1:port"),
    ``domain`` (registered and describable when ``start`` returns), ``db`` (None: temporary files, deleted on
    stop), ``pid``, ``log_path``, ``ports`` (every port it uses), ``timings`` (seconds: ``schema`` setup,
    ``describable`` = process start until DescribeDomain answers, ``server`` = process start until ready for
    workflows, ``total``).
    """

    engine = "cadence"

    def __init__(self, proc: ServerProcess, *, port: int, domain: str, db: str | None, rundir: Path,
                 tmp: tempfile.TemporaryDirectory[str] | None, log_path: Path, ports: dict[str, int],
                 timings: dict[str, float], own_log: bool = False):
        self.process = proc
        self.host = HOST
        self.port = port
        self.domain = domain
        self.db = db
        self.rundir = rundir
        self.log_path = log_path
        self.ports = ports
        self.timings = timings
        self._tmp = tmp
        self._own_log = own_log
        self._stopped = False
        with _live_lock:
            _live.add(self)

    # ---------------------------------------------------------------------------------------- start

    @classmethod
    def start(cls, *, port: int | None = None, db: str | os.PathLike[str] | None = None, domain: str = "default",
              build: bool = False, log_dir: str | os.PathLike[str] | None = None, timeout: float = 120,
              log_level: str | None = None) -> CadenceDevServer:
        """Start a server, wait until its frontend answers and ``domain`` is registered and describable.

        Args:
            port: frontend gRPC port (default: a free one). A taken port raises ``DevServerError``.
            db: where the SQLite files live, kept across restarts (a directory, or a file path ``x.db`` that
                gets ``x_visibility.db`` beside it). None: a temporary directory deleted on ``stop()``.
            domain: registered (retention 1 day) unless it exists; "" registers none.
            build: build the server with Go if it is not cached yet (minutes on a fresh machine).
            log_dir: where the server log (``cadence-PORT.log``) goes and stays. Default: the temporary
                directory (``wfkit-cadence-PORT.log``), deleted by ``stop()`` but kept when the start fails.
            timeout: seconds to wait for the server and the domain.
            log_level: the server's log level (default ``$WFKIT_CADENCE_LOG_LEVEL`` or "warn").
        """
        # Ports picked here can be taken by someone else before the server binds them: then try again.
        attempts = 3 if port is None else 1
        for attempt in range(attempts):
            try:
                return cls._start(port=port, db=db, domain=domain, build=build, log_dir=log_dir, timeout=timeout,
                                  log_level=log_level)
            except _PortTaken:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _start(cls, *, port: int | None, db: str | os.PathLike[str] | None, domain: str, build: bool,
               log_dir: str | os.PathLike[str] | None, timeout: float, log_level: str | None) -> CadenceDevServer:
        t0 = time.monotonic()
        timings: dict[str, float] = {}
        server_bin, sqltool = cadence_binaries(build=build)
        source = cadence_source_dir()
        if port is None:
            port = free_port()
        else:
            ensure_port_free(port)

        with contextlib.suppress(OSError):
            _remove_stale_rundirs()
        tmp = tempfile.TemporaryDirectory(prefix=_RUNDIR_PREFIX)
        rundir = Path(tmp.name)
        proc: ServerProcess | None = None
        try:
            if db is None:
                main_db, vis_db = rundir / "cadence.db", rundir / "cadence_visibility.db"
                db_str = None
            else:
                main_db, vis_db = db_paths(db)
                if any(c in str(main_db) for c in "?#"):
                    raise DevServerError(f"the db path {main_db} must not contain '?' or '#'")
                main_db.parent.mkdir(parents=True, exist_ok=True)
                db_str = str(main_db)
            if log_dir is None:
                log_path = Path(tempfile.gettempdir()) / f"{_RUNDIR_PREFIX}{port}.log"
            else:
                log_path = Path(log_dir).absolute() / f"cadence-{port}.log"
                log_path.parent.mkdir(parents=True, exist_ok=True)

            t = time.monotonic()
            setup_schemas(sqltool, main_db, vis_db, source, log_path)
            timings["schema"] = time.monotonic() - t

            names = [f"{s}_tchannel" for s in SERVICES] + [f"{s}_grpc" for s in ("history", "matching")] + ["statsd"]
            ports = dict(zip(names, _free_ports(len(names), exclude={port}), strict=True))
            ports["frontend_grpc"] = port
            level = log_level or os.environ.get("WFKIT_CADENCE_LOG_LEVEL") or "warn"
            confdir = write_config_dir(rundir, source, _zone_config(ports, main_db, vis_db, rundir, level))

            argv = [server_bin, "--root", str(source), "--config", str(confdir), "--env", "development",
                    "--zone", ZONE, "start", "--services", ",".join(SERVICES)]
            t = time.monotonic()
            proc = ServerProcess(argv, log_path=log_path, env=_child_env(), cwd=rundir,
                                 name=f"the Cadence server on port {port}")
            if log_dir is None:
                (rundir / "log.path").write_text(str(log_path))
            (rundir / "server.pid").write_text(str(proc.pid))
            server = cls(proc, port=port, domain=domain, db=db_str, rundir=rundir, tmp=tmp, log_path=log_path,
                         ports=ports, timings=timings, own_log=log_dir is None)
        except BaseException:
            if proc is not None:
                proc.kill()
            tmp.cleanup()
            raise
        try:
            server._wait_ready(timeout=max(1.0, timeout - (time.monotonic() - t0)), t_popen=t)
            timings["server"] = time.monotonic() - t
            timings["total"] = time.monotonic() - t0
        except BaseException:
            server.stop(keep_log=True)
            raise
        return server

    def _wait_ready(self, timeout: float, t_popen: float) -> None:
        import grpc
        from cadence.api.v1 import service_meta_pb2

        deadline = time.monotonic() + timeout
        delay = 0.05
        stage = "answer on its frontend port"
        last_error = ""
        registered_at: float | None = None
        while True:
            if not self.process.alive():
                last = tail(self.log_path)
                if "address already in use" in last:
                    raise _PortTaken(f"the Cadence server exited with code {self.process.returncode} while "
                                     f"starting (a port was taken); last lines of {self.log_path}:\n{last}")
                raise DevServerError(f"the Cadence server exited with code {self.process.returncode} while "
                                     f"starting; last lines of {self.log_path}:\n{tail(self.log_path)}")
            try:
                if stage == "answer on its frontend port":
                    if port_open(HOST, self.port):
                        stage = "answer Health"
                        continue
                elif stage == "answer Health":
                    _grpc_call(self.address, "Health", service_meta_pb2.HealthRequest(), 2)
                    stage = "create its system domain"
                    continue
                elif stage == "create its system domain":
                    # The worker service creates "cadence-system" at startup; registering our domain at the same
                    # time races it on the SQLite store's domain-metadata version ("<>1 rows affected"), which
                    # is fatal to the worker service. So: only once the system domain exists.
                    describe_domain(self.address, SYSTEM_DOMAIN, timeout=5)
                    stage = "register the domain"
                    continue
                elif stage == "register the domain":
                    if self.domain and register_domain(self.address, self.domain, timeout=5):
                        registered_at = time.monotonic()
                    stage = "describe the domain"
                    continue
                else:
                    if self.domain:
                        describe_domain(self.address, self.domain, timeout=5)
                    self.timings["describable"] = time.monotonic() - t_popen
                    if registered_at is not None:
                        # Each service's domain cache reloads on a miss at most once a second, so a domain
                        # registered less than a second ago can still be unknown to one of them.
                        time.sleep(max(0.0, registered_at + _DOMAIN_CACHE_MIN_REFRESH - time.monotonic()))
                    return
            except grpc.RpcError as e:
                last_error = f"{e.code().name}: {e.details()}"
            if time.monotonic() > deadline:
                raise DevServerError(f"the Cadence server did not {stage} within {timeout:.0f} s"
                                     f"{' (' + last_error + ')' if last_error else ''}; "
                                     f"last lines of {self.log_path}:\n{tail(self.log_path)}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    # ----------------------------------------------------------------------------------------- info

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def namespace(self) -> str:
        """Same as ``domain`` (the name Temporal's side uses)."""
        return self.domain

    @property
    def url(self) -> str:
        return f"cadence://{self.address}?domain={self.domain}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.alive()

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

    # ----------------------------------------------------------------------------------------- stop

    def stop(self, timeout: float = 20, *, keep_log: bool = False) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``timeout``; delete temporary files (and the log
        unless it went to ``log_dir`` or ``keep_log``). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        with _live_lock:
            _live.discard(self)
        self.process.stop(timeout)
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None
        if self._own_log and not keep_log:
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (f"<CadenceDevServer {self.url} pid={self.pid} "
                f"{'running' if self.alive() else 'stopped'}>")


def main(argv: list[str] | None = None) -> int:
    """``python -m wfkit_cadence.devserver [--build]``: find (or build) the server binaries and print them.

    This is what ``make setup`` runs, so a fresh machine builds the server once and every later run finds it.
    """
    import argparse

    ap = argparse.ArgumentParser(prog="python -m wfkit_cadence.devserver", description=main.__doc__)
    ap.add_argument("--build", action="store_true", help="build with Go when the binaries are not cached")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    try:
        server, tool = cadence_binaries(build=args.build)
    except DevServerError as exc:
        print(f"DevServerError: {exc}", file=sys.stderr)
        return 1
    print(f"cadence server: {server}\ncadence sql tool: {tool}\n({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
