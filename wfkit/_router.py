"""Several engines behind one client: ``wfkit.Router`` and ``wfkit.FailoverClient``.

A ``Router`` holds named clients (say a Cadence one and a Temporal one during a migration) and offers the client
interface over them: ``start`` picks one client per workflow (by type, by tag, by a policy, else the default),
``handle(workflow_id)`` finds whichever engine holds that workflow ID, and ``list``/``count``/``worker`` span them
all. ``FailoverClient`` is a router over a primary and a backup that sends starts to the backup while health
checks (run on wfkit's loop) say the primary is down, and back once it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from . import _loop
from ._client import Client, WorkflowHandle
from ._definitions import workflow_defn
from ._errors import ConnectionFailed, UnsupportedFeature, WfkitError, WorkflowFailed, WorkflowNotFound
from ._execution import Execution, Executions
from ._loop import SyncProxy, on_loop, run_sync

__all__ = ["MIGRATION_REASON_PREFIX", "MIGRATION_SOURCE_FINISHED", "FailoverClient", "FailoverEvent", "RoutedHandle",
           "Router", "RouterWorker", "StartRequest"]

logger = logging.getLogger("wfkit.router")
failover_logger = logging.getLogger("wfkit.failover")

MIGRATION_REASON_PREFIX = "wfkit migration: moved to "
"""Start of the termination reason ``wfkit.migrate`` gives a source workflow it restarted on another engine; a
routed handle waiting for that workflow's result follows it to its new engine."""


MIGRATION_SOURCE_FINISHED = "wfkit migration: source finished: "
"""Start of the termination reason of a copy ``wfkit.migrate`` started but stopped again because its source
finished by itself meanwhile; a routed handle waiting on the copy follows the source instead."""


@dataclasses.dataclass(frozen=True)
class StartRequest:
    """What a ``Router`` policy is asked to place: one ``start`` call."""

    workflow_type: str
    """The workflow's type name."""
    args: tuple[Any, ...]
    """The workflow's arguments, as given to ``start``."""
    id: str | None
    """The workflow ID, if the caller chose one."""
    task_queue: str | None
    tags: tuple[str, ...]
    """The ``tags`` given to ``start``."""
    options: Mapping[str, Any]
    """Every other keyword argument of ``start``."""


def _type_name(workflow: type | str) -> str:
    return workflow if isinstance(workflow, str) else workflow_defn(workflow).name


class Router:
    """Several clients behind the client interface.

    Args:
        clients: ``{name: client}``, e.g. ``{"cadence": c, "temporal": t}`` (a name is how the rules below and
            ``Router.clients`` refer to a client).
        by_type: ``{workflow type name: client name}``: where starts of that type go.
        by_tag: ``{tag: client name}``: where starts carrying that tag (``start(..., tags=[...])``) go.
        policy: ``policy(request: StartRequest) -> client name or None``, asked when neither table decides.
        default: the client name for everything else (default: the first client).

    ``start`` asks ``by_type``, then ``by_tag`` (the first tag with a rule), then ``policy``, then uses ``default``.
    ``handle(workflow_id)`` does no I/O: each call on the routed handle finds the engine that holds the workflow
    (a running execution wins over closed ones; among several, the most recently started), so a handle keeps
    working while ``wfkit.migrate`` moves its workflow, and ``result()`` follows a workflow that a migration
    restarted on another engine. ``list``/``count`` span every client; ``worker`` serves on every client.
    ``close()`` closes every client. Blocking twins under ``router.sync``.
    """

    def __init__(self, clients: Mapping[str, Client], *, by_type: Mapping[str, str] | None = None,
                 by_tag: Mapping[str, str] | None = None, policy: Callable[[StartRequest], Any] | None = None,
                 default: str | None = None):
        if not clients:
            raise WfkitError("Router needs at least one client")
        self._clients = dict(clients)
        for name, c in self._clients.items():
            if not hasattr(c, "start") or not hasattr(c, "handle"):
                raise WfkitError(f"Router: {name!r} is not a wfkit client ({type(c).__name__})")
        self.by_type = dict(by_type or {})
        self.by_tag = dict(by_tag or {})
        self.policy = policy
        self.default = default if default is not None else next(iter(self._clients))
        for what, table in (("by_type", self.by_type), ("by_tag", self.by_tag)):
            for key, name in table.items():
                self._check_name(name, f"{what}[{key!r}]")
        self._check_name(self.default, "default")
        self._closed = False
        self.sync = SyncProxy(self)

    def _check_name(self, name: str, what: str) -> None:
        if name not in self._clients:
            raise WfkitError(f"Router {what}: no client named {name!r} (have {', '.join(self._clients)})")

    # --- what it is ----------------------------------------------------------------------------------------
    @property
    def clients(self) -> dict[str, Client]:
        """The routed clients by name."""
        return dict(self._clients)

    @property
    def engine(self) -> str:
        """``"router"`` (``engines`` says which engine each client is)."""
        return "router"

    @property
    def engines(self) -> dict[str, str]:
        """``{client name: engine}``."""
        return {n: c.engine for n, c in self._clients.items()}

    @property
    def address(self) -> str:
        return ", ".join(f"{n}={c.address}" for n, c in self._clients.items())

    @property
    def namespace(self) -> str:
        return ", ".join(f"{n}={c.namespace}" for n, c in self._clients.items())

    @property
    def url(self) -> str:
        return " | ".join(c.url for c in self._clients.values())

    @property
    def capabilities(self) -> frozenset[str]:
        """What every routed engine supports."""
        caps = [frozenset(c.capabilities) for c in self._clients.values()]
        return frozenset.intersection(*caps)

    def require(self, feature: str) -> None:
        if feature not in self.capabilities:
            missing = [c.engine for c in self._clients.values() if feature not in c.capabilities]
            raise UnsupportedFeature(missing[0] if missing else "router", feature)

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={c.engine}@{c.address}" for n, c in self._clients.items())
        return f"<wfkit.Router {parts} default={self.default!r}>"

    def name_of(self, client: Client) -> str:
        """The name under which ``client`` is routed."""
        for n, c in self._clients.items():
            if c is client:
                return n
        raise WfkitError(f"{client!r} is not one of this router's clients")

    # --- starting ------------------------------------------------------------------------------------------
    def route(self, workflow: type | str, *args: Any, id: str | None = None, task_queue: str | None = None,
              tags: Sequence[str] | None = None, **options: Any) -> str:
        """The name of the client a ``start`` with these arguments goes to (no I/O)."""
        wtype = _type_name(workflow)
        if wtype in self.by_type:
            return self.by_type[wtype]
        for tag in tags or ():
            if tag in self.by_tag:
                return self.by_tag[tag]
        if self.policy is not None:
            choice = self.policy(StartRequest(wtype, tuple(args), id, task_queue, tuple(tags or ()), dict(options)))
            if choice is not None:
                if isinstance(choice, str):
                    self._check_name(choice, "policy result")
                    return choice
                return self.name_of(choice)
        return self.default

    async def start(self, workflow: type | str, *args: Any, **kwargs: Any) -> WorkflowHandle:
        """Start a workflow on the client the routing rules pick (same arguments as ``Client.start``); returns
        that engine's handle."""
        name = self.route(workflow, *args, **kwargs)
        handle = await self._clients[name].start(workflow, *args, **kwargs)
        logger.debug("started %s on %s (%s)", handle.workflow_id, name, self._clients[name].engine)
        return handle

    # --- finding workflows ---------------------------------------------------------------------------------
    def handle(self, workflow_id: str, run_id: str | None = None, *, result_type: Any = None) -> RoutedHandle:
        """A handle on ``workflow_id`` on whichever engine holds it (found on each call; no I/O here)."""
        if not workflow_id:
            raise WfkitError("handle: workflow_id is required")
        return RoutedHandle(self, workflow_id, run_id, result_type=result_type)

    async def locate(self, workflow_id: str, run_id: str | None = None, *,
                     exclude: Iterable[str] = ()) -> tuple[str, Execution]:
        """``(client name, Execution)`` of the engine that holds ``workflow_id``: a running execution wins over
        closed ones; among several, the most recently started.

        Raises:
            WorkflowNotFound: no client knows the ID.
        """
        skip = set(exclude)
        names = [n for n in self._clients if n not in skip]

        async def one(name: str) -> Execution | None:
            try:
                return await self._clients[name].handle(workflow_id, run_id).describe()
            except WorkflowNotFound:
                return None

        found = await asyncio.gather(*(one(n) for n in names), return_exceptions=True)
        hits: list[tuple[str, Execution]] = []
        errors: list[BaseException] = []
        for name, res in zip(names, found, strict=True):
            if isinstance(res, BaseException):
                errors.append(res)
            elif res is not None:
                hits.append((name, res))
        if not hits:
            if errors:
                raise errors[0]
            skipped = f" (not asked: {', '.join(sorted(skip))})" if skip else ""
            raise WorkflowNotFound(f"workflow {workflow_id!r} not found on {', '.join(names) or 'no clients'}"
                                   f"{skipped}")
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        hits.sort(key=lambda h: (h[1].status == "running", h[1].start_time or epoch), reverse=True)
        return hits[0]

    # --- spanning every client -----------------------------------------------------------------------------
    async def list(self, query: str | None = None, *, limit: int | None = 1000) -> Executions:
        """Executions matching ``query`` on every client (newest first), at most ``limit`` in all."""
        parts = await asyncio.gather(*(c.list(query, limit=limit) for c in self._clients.values()))
        items = [e for p in parts for e in p]
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        items.sort(key=lambda e: e.start_time or epoch, reverse=True)
        truncated = any(p.truncated for p in parts)
        if limit is not None and len(items) > limit:
            items, truncated = items[:limit], True
        return Executions(items, query=query, truncated=truncated)

    async def count(self, query: str | None = None) -> int:
        """How many executions match ``query`` on all clients together."""
        return sum(await asyncio.gather(*(c.count(query) for c in self._clients.values())))

    async def histories(self, query: str | None = None, *, limit: int | None = 1000, concurrency: int = 16,
                        progress: bool = True) -> Any:
        """The histories of the executions matching ``query`` on every client, in one frame."""
        from wfkit.history._history import histories_frame

        hs: list[Any] = []
        for c in self._clients.values():
            execs = await c.list(query, limit=limit)
            hs += await c.fetch_histories(((e.workflow_id, e.run_id) for e in execs), concurrency=concurrency,
                                          progress=progress)
        return histories_frame(hs)

    def worker(self, *, task_queue: str, workflows: Sequence[type] = (), activities: Sequence[Any] = (),
               **options: Any) -> RouterWorker:
        """A worker on every client (the same workflows and activities), started and stopped together."""
        return RouterWorker([c.worker(task_queue=task_queue, workflows=workflows, activities=activities, **options)
                             for c in self._clients.values()])

    async def close(self) -> None:
        """Close every routed client."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(c.close() for c in self._clients.values()), return_exceptions=True)

    async def __aenter__(self) -> Router:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        run_sync(self.close())


class RoutedHandle:
    """A workflow found by ID on whichever routed engine holds it (see ``Router.handle``).

    Every call looks the workflow up first, so it follows a workflow that moved. ``await h.locate()`` returns
    the engine handle it would use now. Blocking twins under ``h.sync``.
    """

    def __init__(self, router: Router, workflow_id: str, run_id: str | None = None, *, result_type: Any = None):
        self.router = router
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.result_type = result_type
        self.client_name: str | None = None
        """The client the last call went to."""
        self.sync = SyncProxy(self)

    def __repr__(self) -> str:
        where = f" on {self.client_name}" if self.client_name else ""
        return f"<wfkit.RoutedHandle {self.workflow_id!r}{where}>"

    @property
    def client(self) -> Client | None:
        """The client the last call went to (None before the first call)."""
        return self.router._clients.get(self.client_name) if self.client_name else None

    async def locate(self, *, exclude: Iterable[str] = ()) -> WorkflowHandle:
        """The engine handle of the execution this handle stands for now."""
        name, _ = await self.router.locate(self.workflow_id, self.run_id, exclude=exclude)
        self.client_name = name
        return self.router._clients[name].handle(self.workflow_id, self.run_id or None,
                                                 result_type=self.result_type)

    async def result(self, *, timeout: float | None = None, result_type: Any = None) -> Any:
        """The workflow's result; when a migration terminated it to restart it elsewhere, the result of the
        restarted copy."""
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        tried: set[str] = set()
        while True:
            h = await self.locate(exclude=tried)
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            try:
                return await h.result(timeout=left, result_type=result_type)
            except WorkflowFailed as exc:
                cause = exc.cause
                reason = str(getattr(cause, "message", "") or cause or "")
                moved = exc.status == "terminated" and reason.startswith((MIGRATION_REASON_PREFIX,
                                                                          MIGRATION_SOURCE_FINISHED))
                if not moved or self.run_id is not None or len(tried) + 1 >= len(self.router._clients):
                    raise
                assert self.client_name is not None
                tried.add(self.client_name)

    async def signal(self, name: str, *args: Any) -> None:
        await (await self.locate()).signal(name, *args)

    async def query(self, name: str, *args: Any, timeout: float = 10, result_type: Any = None) -> Any:
        return await (await self.locate()).query(name, *args, timeout=timeout, result_type=result_type)

    async def cancel(self) -> None:
        await (await self.locate()).cancel()

    async def terminate(self, reason: str | None = None) -> None:
        await (await self.locate()).terminate(reason)

    async def describe(self) -> Execution:
        name, ex = await self.router.locate(self.workflow_id, self.run_id)
        self.client_name = name
        return ex

    async def history(self) -> Any:
        return await (await self.locate()).history()


class RouterWorker:
    """Workers on several clients, started and stopped together (``Router.worker``)."""

    def __init__(self, workers: list[Any]):
        self.workers = workers
        self.sync = SyncProxy(self)

    def __repr__(self) -> str:
        return f"<wfkit.RouterWorker {len(self.workers)} workers {'running' if self.running else 'stopped'}>"

    @property
    def running(self) -> bool:
        return any(w.running for w in self.workers)

    async def _start(self) -> None:
        started = []
        try:
            for w in self.workers:
                await w._start()
                started.append(w)
        except BaseException:
            for w in started:
                await w._stop()
            raise

    async def _stop(self) -> None:
        await asyncio.gather(*(w._stop() for w in self.workers), return_exceptions=True)

    def start(self) -> RouterWorker:
        run_sync(self._start())
        return self

    def stop(self) -> None:
        run_sync(self._stop())

    async def __aenter__(self) -> RouterWorker:
        await on_loop(self._start())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await on_loop(self._stop())

    def __enter__(self) -> RouterWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- failover ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FailoverEvent:
    """One change of a ``FailoverClient``'s state (also logged on the ``wfkit.failover`` logger)."""

    time: datetime
    kind: str
    """``primary_down``, ``failed_over``, ``primary_up`` or ``failed_back``."""
    detail: str


class FailoverClient(Router):
    """Starts go to ``primary`` while it is healthy and to ``backup`` while it is not.

    Args:
        primary, backup: clients (any engines).
        health_interval: seconds. A health check (a describe of a probe ID: an answer, even "not found",
            means healthy) runs every ``health_interval / 2`` seconds and has ``health_interval / 2`` seconds to
            answer, so starts move to the backup within one ``health_interval`` of the primary going down, and
            back within one ``health_interval`` of it answering again. A start that fails on the primary with
            ``ConnectionFailed`` fails over at once.

    Every change is kept in ``events`` and logged on the ``wfkit.failover`` logger. ``active`` names the client
    that gets starts now. Handles, ``list`` and ``count`` span both (see ``Router``); ``list``/``count`` skip an
    unhealthy primary. Checks run on wfkit's loop from construction until ``close()``.
    """

    PROBE_ID = "__wfkit_health_probe__"

    def __init__(self, primary: Client, backup: Client, *, health_interval: float = 5.0):
        if health_interval <= 0:
            raise WfkitError(f"health_interval must be > 0, got {health_interval}")
        self.health_interval = float(health_interval)
        self.primary_healthy = True
        self.events: list[FailoverEvent] = []
        self.checks = 0
        super().__init__({"primary": primary, "backup": backup}, policy=self._pick, default="primary")
        self._stop_event: asyncio.Event | None = None
        self._task_future = _loop.submit(self._health_loop())

    @property
    def primary(self) -> Client:
        return self._clients["primary"]

    @property
    def backup(self) -> Client:
        return self._clients["backup"]

    @property
    def active(self) -> str:
        """``"primary"`` or ``"backup"``: where starts go now."""
        return "primary" if self.primary_healthy else "backup"

    def __repr__(self) -> str:
        return (f"<wfkit.FailoverClient primary={self.primary.engine}@{self.primary.address} "
                f"backup={self.backup.engine}@{self.backup.address} active={self.active}>")

    def _pick(self, request: StartRequest) -> str:
        return self.active

    def _record(self, kind: str, detail: str) -> None:
        ev = FailoverEvent(datetime.now(UTC), kind, detail)
        self.events.append(ev)
        log = failover_logger.warning if kind in ("primary_down", "failed_over") else failover_logger.info
        log("%s: %s", kind, detail)

    def _mark(self, healthy: bool, why: str) -> None:
        if healthy == self.primary_healthy:
            return
        self.primary_healthy = healthy
        if healthy:
            self._record("primary_up", f"primary {self.primary.engine} at {self.primary.address} answers again")
            self._record("failed_back", f"starts go to the primary ({self.primary.engine}) again")
        else:
            self._record("primary_down", f"primary {self.primary.engine} at {self.primary.address}: {why}")
            self._record("failed_over", f"starts go to the backup ({self.backup.engine} at {self.backup.address})")

    async def check(self) -> bool:
        """Run one health check of the primary now; True when it answered (its state is updated)."""
        return await on_loop(self._check())

    async def _check(self) -> bool:
        budget = self.health_interval / 2
        try:
            await asyncio.wait_for(self.primary.handle(self.PROBE_ID).describe(), budget)
            ok, why = True, ""
        except WorkflowNotFound:
            ok, why = True, ""
        except TimeoutError:
            ok, why = False, f"no answer within {budget:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure to answer means unhealthy
            ok, why = False, f"{type(exc).__name__}: {exc}"
        self.checks += 1
        self._mark(ok, why)
        return ok

    async def _health_loop(self) -> None:
        self._stop_event = asyncio.Event()
        period = self.health_interval / 2
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self._stop_event.is_set():
            await self._check()
            next_at += period
            delay = max(next_at - loop.time(), 0)
            if delay == 0:
                next_at = loop.time()
            try:
                await asyncio.wait_for(self._stop_event.wait(), delay)
            except TimeoutError:
                pass

    async def start(self, workflow: type | str, *args: Any, **kwargs: Any) -> WorkflowHandle:
        """Start on the active client; a start the primary refuses with ``ConnectionFailed`` goes to the backup
        at once (and marks the primary down until a health check succeeds)."""
        if self.active == "primary":
            try:
                return await self.primary.start(workflow, *args, **kwargs)
            except ConnectionFailed as exc:
                self._mark(False, f"start failed: {exc}")
        return await self.backup.start(workflow, *args, **kwargs)

    async def list(self, query: str | None = None, *, limit: int | None = 1000) -> Executions:
        if self.primary_healthy:
            return await super().list(query, limit=limit)
        return await self.backup.list(query, limit=limit)

    async def count(self, query: str | None = None) -> int:
        if self.primary_healthy:
            return await super().count(query)
        return await self.backup.count(query)

    async def locate(self, workflow_id: str, run_id: str | None = None, *,
                     exclude: Iterable[str] = ()) -> tuple[str, Execution]:
        """As ``Router.locate``; an unhealthy primary is not asked."""
        skip = set(exclude)
        if not self.primary_healthy:
            skip.add("primary")
        return await super().locate(workflow_id, run_id, exclude=skip)

    async def _stop_health(self) -> None:
        if self._stop_event is not None:
            self._stop_event.set()

    async def close(self) -> None:
        """Stop the health checks and close both clients."""
        await on_loop(self._stop_health())
        with contextlib.suppress(BaseException):
            await asyncio.wrap_future(self._task_future)
        await super().close()
