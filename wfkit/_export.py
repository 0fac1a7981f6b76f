"""``client.export_histories``: stream the histories a list query matches into a partitioned Parquet dataset.

Histories are fetched at most ``concurrency`` at a time and written in files of at most ``histories_per_file``
histories (``rows_per_file`` events), one folder per partition (Hive style, ``workflow_type=Order/``); at most
``max_buffered_rows`` events wait in memory for their file, whatever the number of histories. A file is
written under a hidden temporary name and renamed when complete, so a reader, and a rerun, never sees a partial
file; files are fsynced before their rename, and the directory after it. The dataset's files are its own
manifest: a rerun reads the ``(workflow_id, run_id)`` pairs they hold (two columns, file by file, kept as 16-byte
digests) and fetches only the runs not yet written, so a crash or an interrupt loses no work and a rerun never
writes a run twice.

Only closed runs are exported by default: a run still open would be written half-done. Open runs are counted
(``ExportResult.open_skipped``) and a rerun picks them up once they close. With ``include_open=True`` they are
written provisionally, in files of their own whose names end in ``.open.parquet``; a rerun that lists such a run
fetches it again and replaces its rows: the new file is renamed in, then the old provisional file is removed (or
rewritten without that run, by an atomic rename), so a reader sees the run twice for at most that instant (and
after a crash between the two steps, until the next rerun, which removes the stale copy first). One export at a
time writes to a directory (a lock file says so).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._capability import Capability
from ._errors import WfkitError

if TYPE_CHECKING:
    from ._client import Client
    from ._execution import Execution

#: The keys ``partition_by`` accepts, and what each one is.
PARTITION_KEYS = {
    "workflow_type": "the run's workflow type",
    "date": "the UTC date the run started (YYYY-MM-DD)",
    "namespace": "the namespace (Cadence: domain) it was exported from",
    "engine": "the engine that recorded it",
}
_NULL = "__HIVE_DEFAULT_PARTITION__"  # pyarrow's and Hive's name for a missing partition value
_STATE = "_wfkit_export.json"
_LOCK = "_wfkit_export.lock"


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What ``client.export_histories`` did."""

    path: str
    """The dataset's directory."""
    matched: int
    """Runs the query listed."""
    written: int
    """Histories written by this call."""
    skipped: int
    """Runs already in the dataset (written by an earlier call), not fetched again."""
    events: int
    """Events (rows) written by this call."""
    files: int
    """Parquet files written by this call."""
    seconds: float
    open_skipped: int = 0
    """Runs still open, not written (``include_open=False``, the default): a rerun exports them once closed."""
    provisional: int = 0
    """Of ``written``, runs still open, written provisionally (``include_open=True``; files ``*.open.parquet``)."""
    replaced: int = 0
    """Of ``written``, runs written provisionally before, fetched again and their old rows replaced."""

    def __repr__(self) -> str:
        extra = "".join(f", {n} {what}" for n, what in ((self.open_skipped, "open (not written)"),
                                                        (self.provisional, "written while open"),
                                                        (self.replaced, "replaced")) if n)
        return (f"<ExportResult {self.path!r}: {self.written} histories ({self.events} events, {self.files} files) "
                f"written, {self.skipped} already there{extra}, of {self.matched} listed, in {self.seconds:.1f} s>")


def _digest(workflow_id: str, run_id: str) -> bytes:
    return hashlib.blake2b(f"{workflow_id}\x00{run_id}".encode(), digest_size=16).digest()


_OPEN_SUFFIX = ".open.parquet"   # a file of runs that were open when written (provisional)


def _is_closed(history: Any) -> bool:
    from wfkit.history._history import _CLOSE_STATUS, _luts

    c = history._columns()
    return bool(len(c.type_code)) and str(_luts()["canon"][c.type_code[-1]]) in _CLOSE_STATUS


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - a file system that cannot sync a directory
        pass
    finally:
        os.close(fd)


def _replace_durably(tmp: str, dest: str) -> None:
    """Rename the complete file ``tmp`` to ``dest``: its data on disk first, then the rename."""
    _fsync_file(tmp)
    os.replace(tmp, dest)
    _fsync_dir(os.path.dirname(dest))


def unreadable_file(path: str, err: BaseException) -> WfkitError:
    """The error for a dataset file pyarrow cannot read: which one, and what to do."""
    return WfkitError(f"{path!r} is not a readable Parquet file ({err}): delete it and run the export again "
                      "(a rerun fetches the runs it held)")


def partition_keys(partition_by: str | Sequence[str] | None) -> list[str]:
    """``partition_by`` as a list of keys; ``WfkitError`` naming an unknown one."""
    if partition_by is None:
        return []
    keys = [partition_by] if isinstance(partition_by, str) else list(partition_by)
    for k in keys:
        if k not in PARTITION_KEYS:
            raise WfkitError(f"export: cannot partition by {k!r}; choose from "
                             + ", ".join(f"{name} ({what})" for name, what in PARTITION_KEYS.items()))
    if len(set(keys)) != len(keys):
        raise WfkitError(f"export: partition_by names a key twice: {keys}")
    return keys


class _Lock:
    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise WfkitError(f"another export is writing to {os.path.dirname(self.path)!r}: wait for it to "
                             "finish (one export at a time per directory)") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None


def _check_state(root: str, keys: list[str]) -> None:
    """Record the dataset's partitioning on first use; refuse a rerun that would partition it differently."""
    state_path = os.path.join(root, _STATE)
    if os.path.exists(state_path):
        with open(state_path) as f:
            state = json.load(f)
        if state.get("partition_by") != keys:
            raise WfkitError(f"{root!r} holds an export partitioned by {state.get('partition_by')}, not {keys}: "
                             "export to another directory, or give the same partition_by")
        return
    tmp = os.path.join(root, f".{_STATE}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w") as f:
        json.dump({"format": 1, "partition_by": keys}, f)
    _replace_durably(tmp, state_path)


def _parquet_files(root: str) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            if name.endswith(".parquet") and not name.startswith((".", "_")):
                yield os.path.join(dirpath, name)


def _clean_temp_files(root: str) -> None:
    """Remove what an interrupted export left half-written (hidden ``.part-*.tmp`` files)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if name.startswith(".part-") and name.endswith(".tmp"):
                os.remove(os.path.join(dirpath, name))


def _file_runs(path: str) -> list[bytes]:
    """The digests of the runs one dataset file holds (two columns read); ``WfkitError`` naming an unreadable
    file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        t = pq.read_table(path, columns=["workflow_id", "run_id"])
    except (pa.ArrowException, OSError) as e:
        raise unreadable_file(path, e) from None
    pairs = pc.unique(pc.binary_join_element_wise(pc.fill_null(t["workflow_id"], ""),
                                                   pc.fill_null(t["run_id"], ""), "\x00"))
    return [_digest(*r.split("\x00", 1)) for r in pairs.to_pylist()]


class _Written:
    """What the dataset holds: the sorted digests of the runs written closed (``closed``), and the runs written
    provisionally, still open, with the files that hold them (``open_runs``, ``open_files``)."""

    def __init__(self, root: str) -> None:
        import numpy as np

        parts = []
        self.open_runs: dict[bytes, set[str]] = {}
        self.open_files: dict[str, set[bytes]] = {}
        for path in _parquet_files(root):
            runs = _file_runs(path)
            if path.endswith(_OPEN_SUFFIX):
                self.open_files[path] = set(runs)
                for d in runs:
                    self.open_runs.setdefault(d, set()).add(path)
            else:
                parts.append(np.array(runs, dtype="S16"))
        self.closed = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype="S16")
        # a crash between writing a run's new rows and removing its provisional ones: the closed copy wins
        stale = [d for d in self.open_runs if _contains(self.closed, d)]
        if stale:
            self.replace(stale)

    def replace(self, digests: Iterable[bytes]) -> int:
        """Remove the provisional rows of these runs (now written again): a file left with none is deleted, the
        others rewritten without them (atomic rename). How many of ``digests`` had provisional rows."""
        touched: set[str] = set()
        n = 0
        for d in digests:
            files = self.open_runs.pop(d, None)
            if files:
                n += 1
                for f in files:
                    self.open_files[f].discard(d)
                touched |= files
        for f in sorted(touched):
            keep = self.open_files[f]
            if not keep:
                os.remove(f)
                del self.open_files[f]
                _fsync_dir(os.path.dirname(f))
            else:
                _rewrite_without(f, keep)
        return n


def _rewrite_without(path: str, keep: set[bytes]) -> None:
    """Rewrite the provisional file ``path`` with only the runs ``keep``, renamed over it in one step."""
    import numpy as np
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    wid, rid = t["workflow_id"].to_pylist(), t["run_id"].to_pylist()
    mask = np.fromiter((_digest(w or "", r or "") in keep for w, r in zip(wid, rid, strict=True)), dtype=bool,
                       count=t.num_rows)
    tmp = os.path.join(os.path.dirname(path), f".part-{uuid.uuid4().hex[:12]}.tmp")
    try:
        pq.write_table(t.filter(mask), tmp, compression="zstd")
        _replace_durably(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _contains(sorted_digests: Any, digest: bytes) -> bool:
    import numpy as np

    i = int(np.searchsorted(sorted_digests, np.bytes_(digest)))
    return i < len(sorted_digests) and bytes(sorted_digests[i]) == digest


def _partition_dir(root: str, keys: list[str], values: dict[str, str | None]) -> str:
    parts = []
    for k in keys:
        value = values.get(k)
        parts.append(f"{k}={quote(value, safe='') if value else _NULL}")
    return os.path.join(root, *parts)


def _partition_values(history: Any, keys: list[str], namespace: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for k in keys:
        if k == "workflow_type":
            out[k] = history.workflow_type
        elif k == "namespace":
            out[k] = namespace
        elif k == "engine":
            out[k] = history.engine
        else:  # date
            t = history._columns().time_ns
            out[k] = time.strftime("%Y-%m-%d", time.gmtime(int(t[0]) // 1_000_000_000)) if len(t) else None
    return out


_Key = tuple[str, bool]   # (partition folder, provisional: the runs were open when fetched)


class _Writer:
    """Buffers histories per partition (closed and still-open runs apart) and writes each buffer as one file when
    it is full; then removes the provisional rows the file's runs replace."""

    def __init__(self, root: str, written: _Written, histories_per_file: int, rows_per_file: int,
                 max_buffered_rows: int):
        self.root = root
        self.written = written
        self.histories_per_file = histories_per_file
        self.rows_per_file = rows_per_file
        self.max_buffered_rows = max_buffered_rows
        self.buffers: dict[_Key, list[Any]] = {}
        self.rows: dict[_Key, int] = {}
        self.files = 0
        self.events = 0
        self.histories = 0
        self.provisional = 0
        self.replaced = 0

    def full(self, key: _Key) -> bool:
        return len(self.buffers[key]) >= self.histories_per_file or self.rows[key] >= self.rows_per_file

    def add(self, folder: str, history: Any) -> list[_Key]:
        """Buffer ``history``; the buffers that must be written now."""
        key = (folder, not _is_closed(history))
        self.buffers.setdefault(key, []).append(history)
        self.rows[key] = self.rows.get(key, 0) + len(history)
        due = [key] if self.full(key) else []
        if sum(self.rows.values()) >= self.max_buffered_rows:
            due += [max((k for k in self.rows if k not in due), key=self.rows.__getitem__, default=key)]
        return list(dict.fromkeys(due))

    def take(self, key: _Key) -> list[Any]:
        self.rows.pop(key, None)
        return self.buffers.pop(key, [])

    def write(self, key: _Key, histories: list[Any]) -> None:
        """One Parquet file of ``histories`` in the key's folder (written to a hidden name, fsynced, renamed), then
        the provisional rows of these runs removed."""
        import pyarrow.parquet as pq

        from wfkit.history._parquet import histories_to_table

        if not histories:
            return
        folder, provisional = key
        table = histories_to_table(histories)
        os.makedirs(folder, exist_ok=True)
        name = (f"part-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}"
                + (_OPEN_SUFFIX if provisional else ".parquet"))
        tmp = os.path.join(folder, f".{name}.tmp")
        try:
            pq.write_table(table, tmp, compression="zstd")
            _replace_durably(tmp, os.path.join(folder, name))
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        self.files += 1
        self.events += table.num_rows
        self.histories += len(histories)
        self.provisional += len(histories) if provisional else 0
        self.replaced += self.written.replace(_digest(h.workflow_id, h.run_id) for h in histories)


async def export_histories(client: Client, query: str | None, path: str | os.PathLike[str], *,
                           partition_by: str | Sequence[str] | None = None, limit: int | None = None,
                           concurrency: int = 16, progress: bool = True, histories_per_file: int = 1000,
                           rows_per_file: int = 250_000, max_buffered_rows: int = 500_000,
                           include_open: bool = False) -> ExportResult:
    """See :meth:`wfkit.Client.export_histories`."""
    for name, value in (("concurrency", concurrency), ("histories_per_file", histories_per_file),
                        ("rows_per_file", rows_per_file), ("max_buffered_rows", max_buffered_rows)):
        if value < 1:
            raise WfkitError(f"export: {name} must be >= 1, got {value}")
    keys = partition_keys(partition_by)
    from wfkit.history._parquet import _pa

    _pa()  # a clear error now, not after the listing, when pyarrow is missing
    root = os.path.abspath(os.fspath(path))
    if os.path.exists(root) and not os.path.isdir(root):
        raise WfkitError(f"export: {root!r} is a file; give a directory for the dataset")
    os.makedirs(root, exist_ok=True)
    started = time.perf_counter()
    with _Lock(os.path.join(root, _LOCK)):
        _check_state(root, keys)
        _clean_temp_files(root)
        written = await asyncio.to_thread(_Written, root)
        total = None
        if progress and Capability.COUNT in client.capabilities:
            total = await client.count(query)
            total = total if limit is None else min(total, limit)
        listing = _Listing(client.iter_list(query, limit=limit), written, include_open)
        writer = _Writer(root, written, histories_per_file, rows_per_file, max_buffered_rows)
        await _stream(client, listing, writer, keys, concurrency, progress, total)
    return ExportResult(path=root, matched=listing.matched, written=writer.histories, skipped=listing.skipped,
                        events=writer.events, files=writer.files, seconds=time.perf_counter() - started,
                        open_skipped=listing.open_skipped, provisional=writer.provisional, replaced=writer.replaced)


class _Listing:
    """The runs to fetch, as the listing pages them: runs the dataset holds closed are skipped, open runs too
    unless ``include_open`` (or written provisionally before: fetched again to replace their rows), and a run
    listed twice (one that closed while the listing went from open to closed runs) is fetched once. Only open
    runs are remembered for that, so the memory is bounded by the open runs, not by the listing's size."""

    def __init__(self, rows: AsyncIterator[Execution], written: _Written, include_open: bool) -> None:
        self.rows, self.written, self.include_open = rows, written, include_open
        self.matched = self.skipped = self.open_skipped = 0
        self._open: dict[bytes, bool] = {}   # runs listed open -> fetched

    async def __aiter__(self) -> AsyncIterator[tuple[str, str]]:
        async for e in self.rows:
            d = _digest(e.workflow_id, e.run_id)
            fetched = self._open.get(d)
            if fetched is not None:
                if fetched or e.is_open:
                    continue
                self._open[d] = True   # skipped while open, listed again closed: exported now
                self.open_skipped -= 1
                yield e.workflow_id, e.run_id
                continue
            self.matched += 1
            if _contains(self.written.closed, d):
                self.skipped += 1
                continue
            if e.is_open:
                fetch = self.include_open or d in self.written.open_runs
                self._open[d] = fetch
                if not fetch:
                    self.open_skipped += 1
                    continue
            yield e.workflow_id, e.run_id


async def _stream(client: Client, listing: _Listing, writer: _Writer, keys: list[str],
                  concurrency: int, progress: bool, total: int | None) -> None:
    namespace = client.namespace
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="export", unit="wf")
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * concurrency)
    pending: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * concurrency)
    failed: list[tuple[str, str, BaseException]] = []
    skipped = 0

    async def lister() -> None:
        nonlocal skipped
        try:
            async for pair in listing:
                passed = listing.skipped + listing.open_skipped   # runs listed and not fetched
                if bar is not None and passed > skipped:
                    bar.update(passed - skipped)
                    skipped = passed
                await pending.put(pair)
            if bar is not None and listing.skipped + listing.open_skipped > skipped:
                bar.update(listing.skipped + listing.open_skipped - skipped)
        finally:   # the fetchers end with the listing, also when it failed part way (its error is raised below)
            for _ in range(concurrency):
                await pending.put(_DONE)

    async def fetcher() -> None:
        while (pair := await pending.get()) is not _DONE:
            wid, rid = pair
            try:
                h = await client._call(client._history(wid, rid))  # decoded by the client's codec, if any
            except Exception as e:  # noqa: BLE001 - one run that cannot be read must not stop the others: named at the end
                failed.append((wid, rid, e))
                await queue.put(None)
                continue
            await queue.put(h)
        await queue.put(_DONE)

    async def write(keys: list[_Key]) -> None:
        for key in keys:
            batch = writer.take(key)
            await asyncio.to_thread(writer.write, key, batch)

    fetchers = [asyncio.create_task(fetcher()) for _ in range(concurrency)]
    listed = asyncio.create_task(lister())
    fetchers.append(listed)
    try:
        running = len(fetchers) - 1
        while running:
            item = await queue.get()
            if item is _DONE:
                running -= 1
                continue
            if bar is not None:
                bar.update()
            if item is None:
                continue
            folder = _partition_dir(writer.root, keys, _partition_values(item, keys, namespace))
            due = writer.add(folder, item)
            if due:
                await write(due)
        await listed   # its error (a listing that failed part way) is the export's
        await write(list(writer.buffers))
    finally:
        for t in fetchers:
            t.cancel()
        await asyncio.gather(*fetchers, return_exceptions=True)
        if bar is not None:
            bar.close()
    if failed:
        wid, rid, err = failed[0]
        tried = listing.matched - listing.skipped - listing.open_skipped
        raise WfkitError(f"export: {len(failed)} of {tried} histories could not be "
                         f"fetched (first: {wid} "
                         f"run {rid}: {err}); the others are written: run the same export again to retry "
                         "only the missing ones")


_DONE = object()
