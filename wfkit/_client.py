"""The engine-neutral client: ``wfkit.connect`` returns a ``Client``; ``client.handle`` a ``WorkflowHandle``."""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from . import _loop, telemetry
from ._config import (
    TAGS_MEMO_KEY,
    ConnectConfig,
    Redacted,
    api_key_from_env,
    apply_option,
    parse_url,
    secret_texts,
    url_from_env,
)
from ._converter import from_json_value, to_json_value
from ._definitions import (
    DROPPED_SIGNALS_QUERY,
    ActivityDefn,
    RetryPolicy,
    WorkflowDefn,
    _served,
    activity_defn,
    as_timedelta,
    workflow_defn,
)
from ._engines import engine_for_scheme, namespace_term
from ._errors import ClientClosed, ConnectionFailed, FailureError, UnsupportedFeature, WfkitError, WorkflowFailed
from ._execution import Execution, Executions
from ._loop import SyncProxy, on_loop, run_sync
from .engine import ID_REUSE_POLICIES, Capability, EngineClient, StartOptions

if TYPE_CHECKING:
    import os

    from ._batch import BatchPlan
    from ._export import ExportResult
    from ._operate import Diagnosis, Namespace, Namespaces, TaskQueueInfo
    from ._reset import ResetPlan
    from ._schedules import Schedule, Schedules
    from .history import History

T = TypeVar("T")


async def connect(
    url: str | None = None,
    *,
    namespace: str | None = None,
    domain: str | None = None,
    api_key: str | None = None,
    tls: bool | None = None,
    tls_cert: str | None = None,
    tls_key: str | bytes | None = None,
    tls_ca: str | None = None,
    server_name: str | None = None,
    register_domain: bool | None = None,
    connect_timeout: float | None = None,
    identity: str | None = None,
    max_scan: int | None = None,
    codec: Any = None,
    codec_server: str | None = None,
    profile: str | None = None,
) -> Client:
    """Connect to a Temporal or Cadence server (or start an embedded one).

    Args:
        url: ``temporal://host:port?namespace=…``, ``cadence://host:port?domain=…[&register=1]``,
            ``temporal+dev://`` or ``cadence+dev://`` (embedded server, stopped on close). Default: from the
            environment (``WFKIT_URL``, or ``WORKFLOW_ENGINE_TYPE`` with ``TEMPORAL_SERVER_URL`` /
            ``TEMPORAL_NAMESPACE`` or ``CADENCE_SERVER_URL`` / ``CADENCE_NAMESPACE``).
        namespace / domain: overrides the URL's namespace (the domain on Cadence).
        api_key: bearer API key (never shown in reprs, logs or errors); also ``WFKIT_API_KEY``.
        tls, tls_cert, tls_key, tls_ca, server_name: TLS settings (paths for cert/key/CA).
        register_domain: Cadence: register the domain when it does not exist.
        connect_timeout: seconds before ``ConnectionFailed`` (default 5).
        max_scan: where the server cannot evaluate a list query (Cadence basic visibility), evaluate it
            client-side over at most this many executions (default 10,000), else ``UnsupportedFeature``.
        codec: a payload codec (``wfkit.codecs.AESGCMCodec``, an engine SDK's codec object, …): the client and
            its workers encode inputs, results, signals and queries with it, and histories are decoded with it.
        codec_server: the URL of a codec server (the one the Web UI and CLI use), as the codec:
            ``wfkit.codecs.RemoteCodec(codec_server, namespace=<this namespace>)``.
        profile: a profile of the engine's own client configuration (Temporal: ``temporal.toml``, shared with its
            CLI); without it, a URL that names no server (``temporal://``) reads the engine's default profile and
            environment variables (``TEMPORAL_*``; Cadence: wfkit's ``CADENCE_*``). The URL and keyword
            arguments win over them, environment variables over the file. With no URL, the one installed engine
            that has profiles.

    Raises:
        ConnectionFailed: the server could not be reached, or the namespace/domain does not exist.
    """
    if url is None and profile is not None:
        url = _profile_url()
    cfg = parse_url(url if url is not None else url_from_env())
    for key, value in (("namespace", namespace), ("domain", domain), ("api_key", api_key), ("tls", tls),
                       ("tls_cert", tls_cert), ("tls_key", tls_key), ("tls_ca", tls_ca),
                       ("server_name", server_name), ("register_domain", register_domain),
                       ("connect_timeout", connect_timeout), ("identity", identity), ("max_scan", max_scan)):
        apply_option(cfg, key, value)
    engine = engine_for_scheme(cfg.engine)
    if profile is not None:
        if Capability.CLIENT_PROFILES not in engine.capabilities:
            raise UnsupportedFeature(engine.name, Capability.CLIENT_PROFILES.value,
                                     "give its settings in the URL, as keyword arguments or in its environment "
                                     "variables")
        cfg.profile = profile
    if cfg.api_key is None:
        cfg.api_key = api_key_from_env(cfg.engine)
        if cfg.api_key is not None:
            cfg.explicit.add("api_key")  # an environment variable wins over a profile's file
    engine.apply_client_config(cfg)
    if codec is not None or codec_server is not None:
        cfg.codec = _codec_for(engine, cfg, codec, codec_server)
    inner = await on_loop(_connect_engine(engine, cfg))
    return Client(inner, cfg)


def _profile_url() -> str | None:
    """``<engine>://`` for ``connect(profile=...)`` without a URL: the URL the environment names, else the one
    installed engine with client profiles."""
    import os

    from ._engines import available, get_engine

    if os.environ.get("WFKIT_URL") or os.environ.get("WORKFLOW_ENGINE_TYPE"):
        return None
    names = [n for n in available() if Capability.CLIENT_PROFILES in get_engine(n).capabilities]
    if len(names) != 1:
        raise WfkitError(f"a profile without a URL needs the one installed engine with client profiles; found "
                         f"{names or 'none'}: give the URL (e.g. <engine>://) too")
    return f"{names[0]}://"


def _codec_for(engine: Any, cfg: ConnectConfig, codec: Any, codec_server: str | None) -> Any:
    from .codecs import as_codec

    if codec is not None and codec_server is not None:
        raise WfkitError("connect: give codec or codec_server, not both")
    if Capability.PAYLOAD_CODEC not in engine.capabilities:
        raise UnsupportedFeature(engine.name, Capability.PAYLOAD_CODEC.value)
    if codec_server is not None:
        from .codecs import RemoteCodec

        return RemoteCodec(codec_server, namespace=cfg.namespace)
    if hasattr(codec, "for_namespace"):  # a remote codec that names no namespace: this connection's
        codec = codec.for_namespace(cfg.namespace)
    return as_codec(codec)


async def _connect_engine(engine: Any, cfg: ConnectConfig) -> EngineClient:
    try:
        return await engine.connect(cfg)
    except WfkitError:
        raise
    except Exception as exc:  # an adapter bug must still say where it happened
        raise ConnectionFailed(f"could not connect to {cfg.redacted_url()}: {type(exc).__name__}: {exc}") from exc


def connect_sync(url: str | None = None, **kwargs: Any) -> Client:
    """``connect`` for plain scripts (blocks; same arguments)."""
    return run_sync(connect(url, **kwargs))


class Client:
    """A connection to one Temporal namespace or Cadence domain. Create it with ``wfkit.connect``.

    Every coroutine method has a blocking twin under ``client.sync``.
    """

    def __init__(self, inner: EngineClient, config: ConnectConfig):
        self._inner = inner
        self._config = config
        self._secrets = secret_texts(config)  # now: a key file may be gone when the SDK client is shown
        self._closed = False
        self.sync = SyncProxy(self)
        self._recent_ids: list[str] = []
        self._recent_types: dict[str, str] = {}
        self._inflight: set[asyncio.Task[Any]] = set()
        self._workers: set[Worker] = set()

    # --- where we are -------------------------------------------------------------------------------
    @property
    def engine(self) -> str:
        """The engine plugin's name (the URL scheme)."""
        return self._inner.engine

    @property
    def address(self) -> str:
        """host:port of the server's frontend."""
        return self._inner.address

    @property
    def namespace(self) -> str:
        """The Temporal namespace, or the Cadence domain."""
        return self._inner.namespace

    @property
    def capabilities(self) -> frozenset[str]:
        """What this engine supports (see ``wfkit.CAPABILITIES``)."""
        return self._inner.capabilities

    @property
    def url(self) -> str:
        """The URL of this connection, without secrets."""
        return f"{self.engine}://{self.address}?{namespace_term(self.engine)}={self.namespace}"

    @property
    def engine_client(self) -> Any:
        """The engine SDK's own client, for what wfkit does not cover (temporalio ``Client`` …), behind a wrapper
        that keeps the API key and TLS key out of every repr (``.unwrap()`` is the SDK object itself)."""
        raw = getattr(self._inner, "raw", None)
        if raw is None:
            return None
        return Redacted(raw, self._secrets)

    @property
    def recent_workflow_ids(self) -> tuple[str, ...]:
        """Workflow IDs this client started, listed or made handles for lately, most recent first (at most 200)."""
        return tuple(reversed(self._recent_ids))

    def recent_workflow_type(self, workflow_id: str) -> str | None:
        """The workflow type of a recent workflow ID (one this client started or listed), else None. No I/O."""
        return self._recent_types.get(workflow_id)

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<wfkit.Client {self.engine} {self.address} namespace={self.namespace!r}{state}>"

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import client_html

        return client_html(self)

    def require(self, feature: str) -> None:
        """Raise ``UnsupportedFeature`` unless the engine has ``feature``."""
        if feature not in self.capabilities:
            raise UnsupportedFeature(self.engine, feature)

    # --- workflows ----------------------------------------------------------------------------------
    async def start(
        self,
        workflow: type | str,
        *args: Any,
        id: str | None = None,
        task_queue: str,
        execution_timeout: timedelta | float | None = None,
        run_timeout: timedelta | float | None = None,
        task_timeout: timedelta | float | None = None,
        id_reuse_policy: str | None = None,
        retry_policy: RetryPolicy | None = None,
        memo: dict[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        result_type: Any = None,
        cron_schedule: str | None = None,
        search_attributes: dict[str, Any] | None = None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
    ) -> WorkflowHandle:
        """Start a workflow (a ``@wfkit.workflow`` class, or any workflow's type name) and return its handle.

        Args:
            id: workflow ID (default: a random UUID).
            id_reuse_policy: allow_duplicate, allow_duplicate_failed_only, reject_duplicate or
                terminate_if_running.
            memo: JSON values stored with the execution; ``tags``: strings stored in the memo under
                ``"wfkit.tags"``.
            cron_schedule: a cron expression (``"*/5 * * * *"``, ``"@hourly"``): the workflow runs on it, the
                first run at the first time it names.
            search_attributes: values visibility indexes (names registered on the server; values str, int,
                float, bool, datetime or a list of str).
            start_signal, start_signal_args: signal-with-start (see ``signal_with_start``).

        Raises:
            WorkflowAlreadyStarted: a workflow with this ID is running (or the reuse policy forbids it).
        """
        if isinstance(workflow, str):
            type_name, hint = workflow, None
        else:
            defn = workflow_defn(workflow)
            type_name, hint = defn.name, defn.run_sig.result
        if not task_queue:
            raise WfkitError("start: task_queue is required")
        if id_reuse_policy is not None and id_reuse_policy not in ID_REUSE_POLICIES:
            raise WfkitError(f"id_reuse_policy {id_reuse_policy!r}: expected one of {', '.join(ID_REUSE_POLICIES)}")
        full_memo = dict(memo or {})
        if tags:
            if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
                raise WfkitError("tags must be a list of strings")
            full_memo[TAGS_MEMO_KEY] = list(tags)
        from ._operate import check_cron, search_attribute_values

        if search_attributes:
            self.require(Capability.SEARCH_ATTRIBUTES)
        options = StartOptions(
            id=id or str(uuid.uuid4()), task_queue=task_queue,
            execution_timeout=as_timedelta(execution_timeout, "execution_timeout"),
            run_timeout=as_timedelta(run_timeout, "run_timeout"),
            task_timeout=as_timedelta(task_timeout, "task_timeout"),
            id_reuse_policy=id_reuse_policy, retry_policy=retry_policy,
            memo={k: to_json_value(v) for k, v in full_memo.items()} or None,
            cron_schedule=check_cron(cron_schedule),
            search_attributes=search_attribute_values(search_attributes),
        )
        json_args = [to_json_value(a) for a in args]
        if start_signal is not None:
            self.require(Capability.SIGNAL_WITH_START)
            if not start_signal:
                raise WfkitError("signal_with_start: the signal's name is required")
            run_id = await self._call(self._inner.signal_with_start(
                type_name, json_args, options, start_signal, [to_json_value(a) for a in start_signal_args]))
        else:
            run_id = await self._call(self._inner.start(type_name, json_args, options))
        telemetry.workflow_started(self.engine, type_name)
        self._remember(options.id, type_name)
        return WorkflowHandle(self, options.id, run_id, result_type=result_type or hint, first_run_id=run_id)

    async def signal_with_start(self, workflow: type | str, *args: Any, signal: str,
                                signal_args: Sequence[Any] = (), id: str, task_queue: str,
                                **start_options: Any) -> WorkflowHandle:
        """Send ``signal`` (with ``signal_args``) to workflow ``id``, starting it first (with ``args`` and the
        options of ``start``) when no run of it is open: one call, so the signal is never lost between a check
        and a start. The handle of the run that got the signal."""
        if not id:
            raise WfkitError("signal_with_start: the workflow id is required")
        return await self.start(workflow, *args, id=id, task_queue=task_queue, start_signal=signal,
                                start_signal_args=signal_args, **start_options)

    def handle(self, workflow_id: str, run_id: str | None = None, *, result_type: Any = None) -> WorkflowHandle:
        """A handle on an existing workflow (the latest run unless ``run_id`` is given). No I/O."""
        if not workflow_id:
            raise WfkitError("handle: workflow_id is required")
        self._remember(workflow_id)
        return WorkflowHandle(self, workflow_id, run_id, result_type=result_type)

    def _remember(self, workflow_id: str, workflow_type: str | None = None) -> None:
        if workflow_id in self._recent_ids:
            self._recent_ids.remove(workflow_id)
        self._recent_ids.append(workflow_id)
        if workflow_type:
            self._recent_types[workflow_id] = workflow_type
        for gone in self._recent_ids[:-200]:
            self._recent_types.pop(gone, None)
        del self._recent_ids[:-200]

    async def list(self, query: str | None = None, *, limit: int | None = 1000) -> Executions:
        """Executions matching ``query`` (Temporal visibility syntax, SPEC's subset on every engine)."""
        if limit is not None and limit < 0:
            raise WfkitError(f"limit must be >= 0, got {limit}")
        executions: Executions = await self._call(self._inner.list(query or None, limit))
        for e in reversed(executions[:200]):  # the listing's first rows end up the most recent
            self._remember(e.workflow_id, e.workflow_type)
        return executions

    async def iter_list(self, query: str | None = None, *, limit: int | None = None,
                        page_size: int = 500) -> AsyncIterator[Execution]:
        """Executions matching ``query``, newest first, fetched ``page_size`` at a time as they are consumed:
        a listing of any size in bounded memory (``list`` collects one into memory; this never does)."""
        if limit is not None and limit < 0:
            raise WfkitError(f"limit must be >= 0, got {limit}")
        if page_size < 1:
            raise WfkitError(f"page_size must be >= 1, got {page_size}")
        stream = getattr(self._inner, "executions", None)   # optional: else the listing, collected
        rows = (stream(query or None) if stream is not None
                else _collected(self._inner, query or None, limit))   # advanced only on wfkit's loop, a page per hop
        given = 0
        try:
            while limit is None or given < limit:
                want = page_size if limit is None else min(page_size, limit - given)
                page = await self._call(_take(rows, want))
                for e in page:
                    yield e
                given += len(page)
                if len(page) < want:
                    return
        finally:
            if not self._closed:
                await self._call(rows.aclose())

    async def count(self, query: str | None = None) -> int:
        """How many executions match ``query``."""
        self.require(Capability.COUNT)
        return int(await self._call(self._inner.count(query or None)))

    async def task_queue(self, name: str) -> TaskQueueInfo:
        """Who polls task queue ``name`` (Cadence: task list) for workflow and activity tasks, and its backlog
        where the engine reports it (``temporal task-queue describe``)."""
        if not name:
            raise WfkitError("task_queue: a task queue name is required")
        return await self._call(self._inner.task_queue(name))

    async def namespaces(self) -> Namespaces:
        """Every namespace (Cadence: domain) of the server; ``.to_dataframe()`` gives one row each."""
        from ._operate import Namespaces

        return Namespaces(await self._call(self._inner.namespaces()))

    async def describe_namespace(self, name: str | None = None) -> Namespace:
        """One namespace (Cadence: domain), this connection's unless ``name`` is given."""
        return await self._call(self._inner.describe_namespace(name or self.namespace))

    # --- schedules (Capability.SCHEDULES) -------------------------------------------------------------
    async def schedules(self) -> Schedules:
        """Every schedule of the namespace; ``.to_dataframe()`` gives one row each."""
        from ._schedules import Schedules

        self.require(Capability.SCHEDULES)
        return Schedules(await self._call(self._inner.schedules()))

    async def describe_schedule(self, schedule_id: str) -> Schedule:
        """One schedule: its spec, state, next and recent actions."""
        self.require(Capability.SCHEDULES)
        return await self._call(self._inner.describe_schedule(schedule_id))

    async def create_schedule(self, schedule_id: str, workflow: type | str, *args: Any, task_queue: str,
                              cron: str | Sequence[str] = (), every: timedelta | float | Sequence[Any] = (),
                              workflow_id: str | None = None, paused: bool = False, note: str | None = None,
                              execution_timeout: timedelta | float | None = None,
                              run_timeout: timedelta | float | None = None, memo: dict[str, Any] | None = None,
                              search_attributes: dict[str, Any] | None = None) -> Schedule:
        """Create a schedule that starts ``workflow`` with ``args`` on ``task_queue`` at each ``cron`` time and/or
        ``every`` interval (``workflow_id``, default the schedule's ID, gets the action's time appended by the
        server); the schedule as described after creation."""
        from ._operate import search_attribute_values
        from ._schedules import ScheduleSpec

        self.require(Capability.SCHEDULES)
        if not schedule_id:
            raise WfkitError("create_schedule: schedule_id is required")
        if not task_queue:
            raise WfkitError("create_schedule: task_queue is required")
        type_name = workflow if isinstance(workflow, str) else workflow_defn(workflow).name
        crons = (cron,) if isinstance(cron, str) else tuple(cron)
        intervals = every if isinstance(every, (list, tuple)) else ((every,) if every else ())
        spec = ScheduleSpec(cron=crons, every=tuple(as_timedelta(e, "every") or timedelta(0) for e in intervals))
        options = StartOptions(id=workflow_id or schedule_id, task_queue=task_queue,
                               execution_timeout=as_timedelta(execution_timeout, "execution_timeout"),
                               run_timeout=as_timedelta(run_timeout, "run_timeout"),
                               memo={k: to_json_value(v) for k, v in (memo or {}).items()} or None,
                               search_attributes=search_attribute_values(search_attributes))
        await self._call(self._inner.create_schedule(schedule_id, type_name, [to_json_value(a) for a in args],
                                                     options, spec, paused, note))
        return await self.describe_schedule(schedule_id)

    async def pause_schedule(self, schedule_id: str, note: str | None = None) -> None:
        """Stop a schedule from acting until unpaused."""
        self.require(Capability.SCHEDULES)
        await self._call(self._inner.schedule_action(schedule_id, "pause", note))

    async def unpause_schedule(self, schedule_id: str, note: str | None = None) -> None:
        self.require(Capability.SCHEDULES)
        await self._call(self._inner.schedule_action(schedule_id, "unpause", note))

    async def trigger_schedule(self, schedule_id: str) -> None:
        """Take the schedule's action now (paused or not)."""
        self.require(Capability.SCHEDULES)
        await self._call(self._inner.schedule_action(schedule_id, "trigger", None))

    async def delete_schedule(self, schedule_id: str) -> None:
        self.require(Capability.SCHEDULES)
        await self._call(self._inner.schedule_action(schedule_id, "delete", None))

    async def batch(self, action: str, query: str, *, signal: str | None = None, args: Sequence[Any] = (),
                    reason: str | None = None, reset_to: str | int = "last", limit: int | None = 1000,
                    journal: str | os.PathLike[str] | None = "auto", concurrency: int = 8) -> BatchPlan:
        """Plan ``action`` (signal, cancel, terminate or reset) over every running workflow ``query`` matches:
        nothing is done yet; ``plan.preview`` shows what each workflow would get and
        ``await plan.run(confirm=True)`` does it (at most ``concurrency`` at a time, a progress bar) and returns
        the results frame (``workflow_id, run_id, outcome, error, new_run_id``).

        Args:
            signal, args: the signal to send (action ``signal``).
            reason: recorded with a terminate or reset.
            reset_to: ``"last"``, ``"first"`` or an event ID (action ``reset``, see ``handle.reset_preview``).
            journal: where the batch journals each workflow (``"auto"``: its own file in wfkit's state
                directory), so that running the same batch again never acts twice on a workflow; None: none.
        """
        from ._batch import batch_plan

        if action == "reset":
            self.require(Capability.RESET)
        if action == "terminate":
            self.require(Capability.TERMINATE)
        return await self._call(batch_plan(self, action, query, signal=signal, args=args, reason=reason,
                                           reset_to=reset_to, limit=limit, journal=journal,
                                           concurrency=concurrency))

    async def histories(self, query: str | None = None, *, limit: int | None = 1000, concurrency: int = 16,
                        progress: bool = True) -> Any:
        """Fetch the histories of the executions matching ``query`` (bounded concurrency, progress bar) into
        one frame (``wfkit.histories_frame``)."""
        from wfkit.history._history import histories_frame

        execs = await self.list(query, limit=limit)
        hs = await self.fetch_histories(((e.workflow_id, e.run_id) for e in execs), concurrency=concurrency,
                                        progress=progress)
        return histories_frame(hs)

    async def _decoded(self, history: Any) -> Any:
        """``history`` with its payloads decoded by this client's codec (as it is when there is none)."""
        codec = self._config.codec
        if codec is None:
            return history
        from .codecs import decode_history

        return await decode_history(history, codec)

    async def _history(self, workflow_id: str, run_id: str | None) -> Any:
        return await self._decoded(await self._inner.history(workflow_id, run_id))

    async def fetch_histories(self, ids: Iterable[tuple[str, str | None]], *, concurrency: int = 16,
                              progress: bool = True) -> builtins.list[History]:
        """Histories of the given (workflow_id, run_id) pairs, in order, at most ``concurrency`` at a time."""
        if concurrency < 1:
            raise WfkitError(f"concurrency must be >= 1, got {concurrency}")
        pairs = list(ids)

        async def _all() -> list[Any]:
            sem = asyncio.Semaphore(concurrency)
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(pairs), desc="histories", unit="wf", leave=False)

            async def one(wid: str, rid: str | None) -> Any:
                async with sem:
                    h = await self._decoded(await self._inner.history(wid, rid))
                if bar is not None:
                    bar.update()
                return h

            try:
                return list(await asyncio.gather(*(one(w, r) for w, r in pairs)))
            finally:
                if bar is not None:
                    bar.close()

        return await self._call(_all())

    async def export_histories(self, query: str | None, path: str | os.PathLike[str], *,
                               partition_by: str | Sequence[str] | None = None, limit: int | None = None,
                               concurrency: int = 16, progress: bool = True, histories_per_file: int = 1000,
                               rows_per_file: int = 250_000, max_buffered_rows: int = 500_000,
                               include_open: bool = False) -> ExportResult:
        """Stream the histories of the executions matching ``query`` into a Parquet dataset at ``path`` (a
        directory): the canonical frame columns and dtypes (``wfkit.read_histories(path)`` gives the frame
        ``histories_frame`` gives; DuckDB and any Parquet engine read it too), one Hive-style folder per
        partition, at most ``concurrency`` fetches at a time, at most ``max_buffered_rows`` events in memory,
        files of at most ``histories_per_file`` histories. Resumable: running it again fetches only the runs
        the dataset does not hold yet, and never writes a run twice; a file appears only once complete.

        Runs still open are not written by default (a half-done history): they are counted in
        ``ExportResult.open_skipped``, and a rerun exports them once they have closed.

        Args:
            partition_by: ``"workflow_type"``, ``"date"`` (UTC start date), ``"namespace"``, ``"engine"``, or
                a list of them (folder order).
            limit: at most this many executions (default: every one the query matches).
            include_open: also write the runs still open, provisionally (files named ``*.open.parquet``): a
                rerun that lists such a run fetches it again and replaces its rows (closed or still open).

        Raises:
            WfkitError: a bad argument, another export writing to ``path``, a dataset partitioned otherwise, a
                dataset file that is not readable Parquet (named: delete it and rerun), or histories that could
                not be fetched (named; the others are written, a rerun retries them).
        """
        from ._export import export_histories

        return await export_histories(self, query, path, partition_by=partition_by, limit=limit,
                                      concurrency=concurrency, progress=progress,
                                      histories_per_file=histories_per_file, rows_per_file=rows_per_file,
                                      max_buffered_rows=max_buffered_rows, include_open=include_open)

    # --- workers -------------------------------------------------------------------------------------
    def worker(self, *, task_queue: str, workflows: Sequence[type] = (), activities: Sequence[Any] = (),
               max_concurrent_activities: int | None = None,
               max_concurrent_workflow_tasks: int | None = None,
               max_cached_workflows: int | None = None) -> Worker:
        """A worker serving ``workflows`` and ``activities`` on ``task_queue``.

        Use it as ``async with client.worker(...)``, ``with client.sync.worker(...)``, or start it in the
        background with ``w = client.worker(...).start()`` and stop it with ``w.stop()`` (it keeps polling
        while other notebook cells run or block).

        ``max_cached_workflows`` bounds how many runs' workflow state the worker keeps between workflow tasks
        (sticky execution: a cached run's next task applies only its new events instead of replaying the whole
        history; the least recently used run is evicted first; 0 turns the cache off). The default is the
        engine's (1000 on the servers; the in-process engine keeps its runs anyway).
        """
        if not task_queue:
            raise WfkitError("worker: task_queue is required")
        if not workflows and not activities:
            raise WfkitError("worker: give at least one workflow or activity to serve")
        wdefs = [workflow_defn(w) for w in workflows]
        adefs = [activity_defn(a) for a in activities]
        for kind, names in (("workflow", [d.name for d in wdefs]), ("activity", [d.name for d in adefs])):
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise WfkitError(f"worker: two {kind}s share the type name {sorted(dup)[0]!r}")
        opts: dict[str, Any] = {k: v for k, v in (("max_concurrent_activities", max_concurrent_activities),
                                                  ("max_concurrent_workflow_tasks", max_concurrent_workflow_tasks))
                                if v}
        if max_cached_workflows is not None:
            if isinstance(max_cached_workflows, bool) or not isinstance(max_cached_workflows, int) \
                    or max_cached_workflows < 0:
                raise WfkitError(f"worker: max_cached_workflows must be a whole number >= 0, "
                                 f"got {max_cached_workflows!r}")
            opts["max_cached_workflows"] = max_cached_workflows
        return Worker(self, task_queue, wdefs, adefs, opts)

    # --- time --------------------------------------------------------------------------------------
    async def sleep(self, duration: timedelta | float) -> None:
        """Let ``duration`` (a timedelta or seconds) of workflow time pass, firing the timers due meanwhile: at once
        on an engine whose clock skips (``Capability.TIME_SKIPPING`` with time skipping on, e.g.
        ``local://?time=skip``), else in real time. For tests that advance time explicitly."""
        td = as_timedelta(duration, "sleep duration")
        assert td is not None
        if td < timedelta(0):
            raise WfkitError(f"sleep duration must not be negative, got {td}")
        advance = getattr(self._inner, "sleep", None)   # optional engine-client method: advance its clock
        if advance is None:
            await asyncio.sleep(td.total_seconds())
        else:
            await self._call(advance(td.total_seconds()))

    skip = sleep

    # --- lifecycle -----------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    async def close(self, *, timeout: float | None = 10) -> None:
        """Close the client, and stop an embedded dev server.

        The workers made from this client stop first (each drains its in-flight tasks for at most ``timeout``
        seconds); calls still in flight then fail with ``ClientClosed``, and so does every later call. Closing
        twice does nothing.
        """
        if self._closed:
            return
        self._closed = True
        await on_loop(self._shutdown(timeout))

    async def _shutdown(self, timeout: float | None) -> None:
        for worker in list(self._workers):
            try:
                await asyncio.wait_for(worker._stop(), timeout)
            except TimeoutError:
                pass  # it was told to stop; what it still held goes back to the server
        calls = list(self._inflight)
        for task in calls:
            task.cancel()
        try:
            await self._inner.close()
        finally:
            if calls:
                await asyncio.wait(calls, timeout=5)

    def _closed_error(self) -> ClientClosed:
        return ClientClosed(f"this client ({self.url}) is closed: connect again to go on")

    async def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one engine call on wfkit's loop; ``ClientClosed`` once the client is closed, and for a call still
        in flight when it closes (whatever the engine's channel raised then)."""
        if self._closed:
            coro.close()
            raise self._closed_error()
        return await on_loop(self._tracked(coro))

    async def _tracked(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise self._closed_error()
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            return await coro
        except (Exception, asyncio.CancelledError) as exc:
            if self._closed and not isinstance(exc, (ClientClosed, WorkflowFailed, FailureError)):
                raise self._closed_error() from exc
            raise
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        run_sync(self.close())


class WorkflowHandle:
    """One workflow execution (the latest run of its ID unless ``run_id`` is set). Blocking twins under
    ``handle.sync``."""

    def __init__(self, client: Client, workflow_id: str, run_id: str | None = None, *, result_type: Any = None,
                 first_run_id: str | None = None):
        self.client = client
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.first_run_id = first_run_id
        self.result_type = result_type
        self.sync = SyncProxy(self)

    def __repr__(self) -> str:
        run = f" run_id={self.run_id!r}" if self.run_id else ""
        return f"<wfkit.WorkflowHandle {self.workflow_id!r}{run} on {self.client.engine}>"

    @property
    def _inner(self) -> EngineClient:
        return self.client._inner

    async def result(self, *, timeout: float | timedelta | None = None, result_type: Any = None) -> Any:
        """Wait for the workflow's result (following continue-as-new), decoded to ``result_type`` or the
        workflow's declared return type.

        Raises:
            WorkflowFailed: it failed, timed out, was canceled or terminated (see ``.cause``).
            TimeoutError: ``timeout`` seconds passed first (the workflow goes on).
        """
        td = as_timedelta(timeout, "timeout")
        value = await self.client._call(self._inner.result(self.workflow_id, self.run_id,
                                                 td.total_seconds() if td is not None else None))
        return from_json_value(value, result_type if result_type is not None else self.result_type)

    async def signal(self, name: str, *args: Any) -> None:
        """Send signal ``name`` with ``args``."""
        values = [to_json_value(a) for a in args]
        await self.client._call(self._inner.signal(self.workflow_id, self.run_id, name, values))

    async def query(self, name: str, *args: Any, timeout: float = 10, result_type: Any = None) -> Any:
        """Ask query ``name``; ``QueryFailed`` on expiry or before the workflow's first task completed."""
        self.client.require(Capability.QUERY)
        value = await self.client._call(self._inner.query(self.workflow_id, self.run_id, name,
                                                [to_json_value(a) for a in args], timeout))
        return from_json_value(value, result_type)

    async def dropped_signals(self, *, timeout: float = 10) -> builtins.list[dict[str, str]]:
        """The signals this (running) workflow dropped because their arguments could not be decoded, in
        arrival order: ``[{"signal": name, "error": why}, ...]`` (a wfkit workflow drops such a signal, logs and
        counts it, instead of failing its task forever). ``history().signals(WorkflowClass)`` finds them in any
        history, closed runs included."""
        return await self.query(DROPPED_SIGNALS_QUERY, timeout=timeout)

    async def update(self, name: str, *args: Any, timeout: float | None = 30, result_type: Any = None) -> Any:
        """Run the workflow's ``@wfkit.update`` handler ``name`` with ``args`` and return its result (a worker must
        be running; ``Capability.UPDATE``: Temporal)."""
        self.client.require(Capability.UPDATE)
        if not name:
            raise WfkitError("update: the update's name is required")
        value = await self.client._call(self._inner.update(self.workflow_id, self.run_id, name,
                                                           [to_json_value(a) for a in args], timeout))
        return from_json_value(value, result_type)

    async def cancel(self) -> None:
        """Request cancellation (the workflow code sees it and may clean up)."""
        await self.client._call(self._inner.cancel(self.workflow_id, self.run_id))

    async def terminate(self, reason: str | None = None) -> None:
        """End the workflow at once, without running any of its code."""
        self.client.require(Capability.TERMINATE)
        await self.client._call(self._inner.terminate(self.workflow_id, self.run_id, reason))

    async def describe(self) -> Execution:
        """The execution as a ``wfkit.Execution``."""
        return await self.client._call(self._inner.describe(self.workflow_id, self.run_id))

    async def history(self) -> History:
        """The run's full event history as a ``wfkit.History`` (payloads decoded by the client's codec, if it has
        one; a payload it cannot decode stays a marker saying why)."""
        return await self.client._call(self.client._history(self.workflow_id, self.run_id))

    async def diagnose(self) -> Diagnosis:
        """Why the workflow is where it is: findings with evidence (no worker polls its task queue, the workflow
        task keeps failing, an activity is retrying, waiting on a timer, a child or a signal)."""
        from ._operate import diagnose

        async def gather() -> Diagnosis:
            ex = await self._inner.describe(self.workflow_id, self.run_id)

            async def nothing() -> None:
                return None

            tq, hist = await asyncio.gather(  # the two together: a diagnosis costs two round trips, not three
                self._inner.task_queue(ex.task_queue) if ex.is_open and ex.task_queue else nothing(),
                self.client._history(ex.workflow_id, ex.run_id) if ex.is_open else nothing())
            served = _served.get(ex.workflow_type)  # a worker of this process runs it: name its signals
            names = sorted(n for n in served.signals if not n.startswith("__")) if served is not None else []
            return diagnose(ex, tq, hist, signal_names=names)

        return await self.client._call(gather())

    async def stack(self, *, timeout: float = 10) -> str:
        """Where the workflow's code waits now, one block per coroutine, innermost call last (a worker running
        the workflow answers: wfkit's runtimes with every coroutine's await chain, a worker of another SDK with
        the engine's ``__stack_trace`` query)."""
        from ._errors import QueryFailed
        from ._operate import STACK_TRACE_QUERY, WFKIT_STACK_QUERY

        try:
            return str(await self.query(WFKIT_STACK_QUERY, timeout=timeout))
        except QueryFailed as exc:
            if WFKIT_STACK_QUERY not in str(exc):  # not "unknown query type": a real failure
                raise
        return str(await self.query(STACK_TRACE_QUERY, timeout=timeout))

    async def reset_preview(self, to: str | int = "last") -> ResetPlan:
        """What resetting the run to ``to`` would do, without doing it: ``to`` is ``"last"`` or ``"first"`` (the
        last or first completed workflow task) or the event ID of a workflow task's end. The plan lists the
        events the new run will not have (``discarded``) and the signals it gets again (``reapplied_signals``);
        ``plan.reset()`` does it."""
        from ._reset import plan_from

        self.client.require(Capability.RESET)

        async def build() -> ResetPlan:
            ex = await self._inner.describe(self.workflow_id, self.run_id)
            history = await self._inner.history(ex.workflow_id, ex.run_id)
            return plan_from(self, ex.run_id, history, to)

        return await self.client._call(build())

    async def reset(self, to: str | int = "last", *, reason: str | None = None) -> WorkflowHandle:
        """Reset the run to ``to`` (see ``reset_preview``) and return the handle of the new run."""
        plan = await self.reset_preview(to)
        return await plan.reset(reason=reason)

    async def _reset(self, plan: ResetPlan, reason: str | None) -> WorkflowHandle:
        new_run = await self.client._call(self._inner.reset(plan.workflow_id, plan.run_id, plan.event_id,
                                                            reason or "reset by wfkit", plan.request_id))
        return WorkflowHandle(self.client, plan.workflow_id, new_run, result_type=self.result_type)


class Worker:
    """A worker (see ``Client.worker``). Async or sync context manager, or ``start()``/``stop()``."""

    def __init__(self, client: Client, task_queue: str, workflows: builtins.list[WorkflowDefn],
                 activities: builtins.list[ActivityDefn], options: dict[str, Any]):
        self.client = client
        self.task_queue = task_queue
        self.workflows = workflows
        self.activities = activities
        self._options = options
        self._engine_worker: Any = None
        self.sync = SyncProxy(self)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"<wfkit.Worker {self.client.engine} task_queue={self.task_queue!r} "
                f"workflows={[d.name for d in self.workflows]} activities={[d.name for d in self.activities]} "
                f"{state}>")

    @property
    def running(self) -> bool:
        return self._engine_worker is not None

    async def _start(self) -> None:
        if self._engine_worker is not None:
            raise WfkitError("this worker is already running")
        if self.client._closed:
            raise self.client._closed_error()
        ew = self.client._inner.worker(self.task_queue, self.workflows, self.activities, **self._options)
        await ew.start()
        self._engine_worker = ew
        self.client._workers.add(self)
        for d in self.workflows:
            _served[d.name] = d
        _loop.add_shutdown_hook(self._stop)

    async def _stop(self) -> None:
        ew, self._engine_worker = self._engine_worker, None
        self.client._workers.discard(self)
        _loop.remove_shutdown_hook(self._stop)
        for d in self.workflows:
            if _served.get(d.name) is d:
                del _served[d.name]
        if ew is not None:
            await ew.stop()

    def start(self) -> Worker:
        """Start polling in the background (on wfkit's loop thread) and return at once."""
        run_sync(self._start())
        return self

    def stop(self) -> None:
        """Stop polling; in-flight tasks finish or are handed back to the server."""
        run_sync(self._stop())

    async def __aenter__(self) -> Worker:
        await on_loop(self._start())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await on_loop(self._stop())

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _collected(inner: EngineClient, query: str | None, limit: int | None) -> AsyncGenerator[Execution, None]:
    """The listing of an engine client without ``executions``: ``list`` collected, then given row by row."""
    for e in await inner.list(query, limit):
        yield e


async def _take(rows: AsyncIterator[Execution], n: int) -> builtins.list[Execution]:
    """The next ``n`` rows of ``rows`` (fewer at its end)."""
    out: builtins.list[Execution] = []
    async for e in rows:
        out.append(e)
        if len(out) >= n:
            break
    return out
