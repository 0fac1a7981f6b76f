"""``client.export_histories``: stream the histories a list query matches into a partitioned Parquet dataset.

Histories are fetched at most ``concurrency`` at a time and written in files of at most ``histories_per_file``
histories (``rows_per_file`` events), one folder per partition (Hive style, ``workflow_type=Order/``); at most
``max_buffered_rows`` events wait in memory for their file, whatever the number of histories. A file is
written under a hidden temporary name and renamed when complete, so a reader, and a rerun, never sees a partial
file. The dataset's files are its own manifest: a rerun reads the ``(workflow_id, run_id)`` pairs they hold (two
columns, file by file, kept as 16-byte digests) and fetches only the runs not yet written, so a crash or an
interrupt loses no work and a rerun never writes a run twice. One export at a time writes to a directory (a lock
file says so).
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

    def __repr__(self) -> str:
        return (f"<ExportResult {self.path!r}: {self.written} histories ({self.events} events, {self.files} files) "
                f"written, {self.skipped} already there, of {self.matched} listed, in {self.seconds:.1f} s>")


def _digest(workflow_id: str, run_id: str) -> bytes:
    return hashlib.blake2b(f"{workflow_id}\x00{run_id}".encode(), digest_size=16).digest()


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
    os.replace(tmp, state_path)


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


def _written_digests(root: str) -> Any:
    """The sorted 16-byte digests of the runs the dataset's files hold (two columns read, one file at a time)."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    parts = []
    for path in _parquet_files(root):
        t = pq.read_table(path, columns=["workflow_id", "run_id"])
        runs = pc.unique(pc.binary_join_element_wise(pc.fill_null(t["workflow_id"], ""),
                                                      pc.fill_null(t["run_id"], ""), "\x00"))
        parts.append(np.array([hashlib.blake2b(r.encode(), digest_size=16).digest()
                               for r in runs.to_pylist()], dtype="S16"))
    if not parts:
        return np.empty(0, dtype="S16")
    return np.unique(np.concatenate(parts))


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


class _Writer:
    """Buffers histories per partition and writes each partition's buffer as one file when it is full."""

    def __init__(self, root: str, histories_per_file: int, rows_per_file: int, max_buffered_rows: int):
        self.root = root
        self.histories_per_file = histories_per_file
        self.rows_per_file = rows_per_file
        self.max_buffered_rows = max_buffered_rows
        self.buffers: dict[str, list[Any]] = {}
        self.rows: dict[str, int] = {}
        self.files = 0
        self.events = 0
        self.histories = 0

    def full(self, folder: str) -> bool:
        return len(self.buffers[folder]) >= self.histories_per_file or self.rows[folder] >= self.rows_per_file

    def add(self, folder: str, history: Any) -> list[str]:
        """Buffer ``history``; the folders whose buffers must be written now."""
        self.buffers.setdefault(folder, []).append(history)
        self.rows[folder] = self.rows.get(folder, 0) + len(history)
        due = [folder] if self.full(folder) else []
        if sum(self.rows.values()) >= self.max_buffered_rows:
            due += [max((f for f in self.rows if f not in due), key=self.rows.__getitem__, default=folder)]
        return list(dict.fromkeys(due))

    def take(self, folder: str) -> list[Any]:
        self.rows.pop(folder, None)
        return self.buffers.pop(folder, [])

    def write(self, folder: str, histories: list[Any]) -> None:
        """One Parquet file of ``histories`` in ``folder`` (written to a hidden name, then renamed)."""
        import pyarrow.parquet as pq

        from wfkit.history._parquet import histories_to_table

        if not histories:
            return
        table = histories_to_table(histories)
        os.makedirs(folder, exist_ok=True)
        name = f"part-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}.parquet"
        tmp = os.path.join(folder, f".{name}.tmp")
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, os.path.join(folder, name))
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        self.files += 1
        self.events += table.num_rows
        self.histories += len(histories)


async def export_histories(client: Client, query: str | None, path: str | os.PathLike[str], *,
                           partition_by: str | Sequence[str] | None = None, limit: int | None = None,
                           concurrency: int = 16, progress: bool = True, histories_per_file: int = 1000,
                           rows_per_file: int = 250_000, max_buffered_rows: int = 500_000) -> ExportResult:
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
        done = await asyncio.to_thread(_written_digests, root)
        total = None
        if progress and Capability.COUNT in client.capabilities:
            total = await client.count(query)
            total = total if limit is None else min(total, limit)
        listing = _Listing(client.iter_list(query, limit=limit), done)
        writer = _Writer(root, histories_per_file, rows_per_file, max_buffered_rows)
        await _stream(client, listing, writer, keys, concurrency, progress, total)
    return ExportResult(path=root, matched=listing.matched, written=writer.histories, skipped=listing.skipped,
                        events=writer.events, files=writer.files, seconds=time.perf_counter() - started)


class _Listing:
    """The runs to fetch, as the listing pages them: runs the dataset holds are skipped, and a run listed twice
    (one that closed while the listing went from open to closed runs) is fetched once. Only open runs are
    remembered for that, so the memory is bounded by the open runs, not by the listing's size."""

    def __init__(self, rows: AsyncIterator[Execution], done: Any) -> None:
        self.rows, self.done = rows, done
        self.matched = self.skipped = 0
        self._open: set[bytes] = set()

    async def __aiter__(self) -> AsyncIterator[tuple[str, str]]:
        async for e in self.rows:
            d = _digest(e.workflow_id, e.run_id)
            if d in self._open:
                continue
            if e.status == "running":
                self._open.add(d)
            self.matched += 1
            if _contains(self.done, d):
                self.skipped += 1
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
                if bar is not None and listing.skipped != skipped:
                    bar.update(listing.skipped - skipped)
                    skipped = listing.skipped
                await pending.put(pair)
            if bar is not None:
                bar.update(listing.skipped - skipped)
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

    async def write(folders: list[str]) -> None:
        for folder in folders:
            batch = writer.take(folder)
            await asyncio.to_thread(writer.write, folder, batch)

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
        raise WfkitError(f"export: {len(failed)} of {listing.matched - listing.skipped} histories could not be "
                         f"fetched (first: {wid} "
                         f"run {rid}: {err}); the others are written: run the same export again to retry "
                         "only the missing ones")


_DONE = object()
