"""Histories to Parquet on the real servers: ``client.export_histories`` / ``wfkit export --query``, read back
with ``wfkit.read_histories``, pandas, pyarrow and DuckDB, resumed after an interruption, and the analytics
helpers over the dataset."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pandas as pd
import pytest

import wfkit
from wfkit.testing import eventually


@wfkit.activity
async def shout(text: str) -> str:
    return text.upper()


@wfkit.activity
async def refuse(text: str) -> str:
    raise wfkit.ApplicationError(f"no {text}", non_retryable=True)


@wfkit.workflow
class Shouter:
    @wfkit.run
    async def run(self, text: str) -> dict:
        loud = await wfkit.execute_activity(shout, text, start_to_close_timeout=10)
        return {"text": loud, "n": len(text), "none": None}


@wfkit.workflow
class Refuser:
    @wfkit.run
    async def run(self, text: str) -> str:
        return await wfkit.execute_activity(refuse, text, start_to_close_timeout=10)


WORKFLOWS = [Shouter, Refuser]
ACTIVITIES = [shout, refuse]


async def _closed_runs(client: Any, task_queue: str, prefix: str, n: int) -> str:
    """``n`` Shouters and 2 Refusers run to their end; the query that lists exactly them."""
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    async with client.worker(task_queue=task_queue, workflows=WORKFLOWS, activities=ACTIVITIES):
        handles = [await client.start(Shouter, f"hi {i}", id=f"{prefix}s{i:02d}", task_queue=task_queue)
                   for i in range(n)]
        handles += [await client.start(Refuser, f"r{i}", id=f"{prefix}r{i}", task_queue=task_queue)
                    for i in range(2)]
        for h in handles:
            try:
                await h.result(timeout=60)
            except wfkit.WorkflowFailed:
                pass

    async def listed() -> bool:
        execs = await client.list(query, limit=None)
        return len(execs) == n + 2 and all(not e.is_open for e in execs)

    await eventually(listed, timeout=30)
    return query


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["workflow_id", "run_id", "event_id"], kind="stable").reset_index(drop=True)


@pytest.fixture
def prefix() -> str:
    return f"pq-{uuid.uuid4().hex[:10]}-"


async def test_export_reads_back_as_the_same_frame(client: Any, task_queue: str, prefix: str, tmp_path: Any) -> None:
    query = await _closed_runs(client, task_queue, prefix, 5)
    out = tmp_path / "ds"
    result = await client.export_histories(query, out, partition_by=["workflow_type", "date"], progress=False,
                                           histories_per_file=2)
    assert (result.matched, result.written, result.skipped) == (7, 7, 0)
    assert result.files >= 4  # 2 histories a file, per partition
    assert sorted(os.listdir(out)) == ["_wfkit_export.json", "_wfkit_export.lock", "workflow_type=Refuser",
                                       "workflow_type=Shouter"]

    expected = _canonical(await client.histories(query, limit=None, progress=False))
    back = wfkit.read_histories(out)
    pd.testing.assert_frame_equal(back, expected)
    assert back.dtypes.to_dict() == expected.dtypes.to_dict()
    # payloads and attributes come back as the same values (a dict result, a None inside it, an input string)
    closes = back[back["event_type"] == "WorkflowExecutionCompleted"]["payload"].tolist()
    assert sorted(c["n"] for c in closes) == [4, 4, 4, 4, 4] and all(c["none"] is None for c in closes)
    assert back["payload"].tolist() == expected["payload"].tolist()
    assert back["attributes"].tolist() == expected["attributes"].tolist()
    assert back["failure"].notna().sum() == expected["failure"].notna().sum() > 0

    # pandas / pyarrow read the same rows and types (partition keys come as extra columns, the rest as written)
    import pyarrow.dataset as ds

    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(expected)
    assert set(table.column_names) == set(wfkit.history.FRAME_COLUMNS) | {"workflow_type", "date"}
    assert str(table.schema.field("time").type) == "timestamp[ns, tz=UTC]"
    plain = pd.read_parquet(out)  # every column as pandas reads it, the partition keys too
    assert len(plain) == len(expected)
    ordered = plain.sort_values(["workflow_id", "run_id", "event_id"], kind="stable")
    pd.testing.assert_frame_equal(wfkit.read_histories(ordered), expected)
    pd.testing.assert_frame_equal(wfkit.read_histories(table.sort_by([("workflow_id", "ascending"),
                                                                       ("run_id", "ascending"),
                                                                       ("event_id", "ascending")])), expected)

    # DuckDB SQL over the dataset, and its rows turned into the frame again
    import duckdb

    glob = os.path.join(out, "**", "*.parquet")
    per_type = duckdb.sql(f"SELECT workflow_type, count(DISTINCT run_id) AS runs FROM read_parquet('{glob}', "
                          "hive_partitioning = true) GROUP BY ALL ORDER BY 1").fetchall()
    assert per_type == [("Refuser", 2), ("Shouter", 5)]
    cols = ", ".join(wfkit.history.FRAME_COLUMNS)
    rel = duckdb.sql(f"SELECT {cols} FROM read_parquet('{glob}') ORDER BY workflow_id, run_id, event_id")
    pd.testing.assert_frame_equal(wfkit.read_histories(rel), expected)

    # the analytics helpers take the dataset's path (DuckDB reads only the rows and columns they need)
    for helper in ("workflows", "activities", "latency", "retries", "failures"):
        got = getattr(wfkit.analytics, helper)(out)
        want = getattr(wfkit.analytics, helper)(expected)
        sort = [c for c in ("kind", "type", "metric", "workflow_id", "run_id", "activity_id", "activity_type",
                            "event_type", "failure") if c in want.columns]
        pd.testing.assert_frame_equal(got.sort_values(sort).reset_index(drop=True),
                                      want.sort_values(sort).reset_index(drop=True), check_like=False)
    assert wfkit.analytics.sql(out, "SELECT count(*) FROM events").fetchall() == [(len(expected),)]


async def test_export_resumes_without_duplicates(client: Any, task_queue: str, prefix: str, tmp_path: Any) -> None:
    query = await _closed_runs(client, task_queue, prefix, 4)
    out = tmp_path / "ds"
    first = await client.export_histories(query, out, limit=3, progress=False, histories_per_file=1)
    assert first.written == 3
    # an export interrupted mid-file leaves a hidden temporary file behind: never read, removed by the rerun
    stale = out / ".part-crashed.parquet.tmp"
    stale.write_bytes(b"PAR1 half a file")
    again = await client.export_histories(query, out, progress=False)
    assert (again.matched, again.written, again.skipped) == (6, 3, 3)
    assert not stale.exists()
    nothing = await client.export_histories(query, out, progress=False)
    assert (nothing.written, nothing.skipped, nothing.files) == (0, 6, 0)
    back = wfkit.read_histories(out)
    expected = _canonical(await client.histories(query, limit=None, progress=False))
    pd.testing.assert_frame_equal(back, expected)  # every run once
    with pytest.raises(wfkit.WfkitError, match="partitioned by"):
        await client.export_histories(query, out, partition_by="workflow_type", progress=False)


async def test_export_bad_input(client: Any, tmp_path: Any) -> None:
    with pytest.raises(wfkit.WfkitError, match="cannot partition by 'colour'.*workflow_type"):
        await client.export_histories(None, tmp_path / "x", partition_by="colour", progress=False)
    with pytest.raises(wfkit.WfkitError, match="concurrency must be >= 1"):
        await client.export_histories(None, tmp_path / "x", concurrency=0, progress=False)
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(wfkit.WfkitError, match="is a file"):
        await client.export_histories(None, f, progress=False)
    with pytest.raises(wfkit.WfkitError, match="no Parquet dataset"):
        wfkit.read_histories(tmp_path / "nowhere")
    with pytest.raises(wfkit.WfkitError, match="no column 'colour'"):
        wfkit.read_histories(tmp_path, columns=["colour"])
    with pytest.raises(wfkit.WfkitError, match="cannot read history rows from a int"):
        wfkit.read_histories(42)
    with pytest.raises(wfkit.WfkitError, match="the rows have no 'run_id', 'event_id'"):
        wfkit.read_histories(pd.DataFrame({"workflow_id": ["a"]}))


async def test_export_empty_query_and_empty_read(client: Any, tmp_path: Any) -> None:
    result = await client.export_histories(f"WorkflowId = 'none-{uuid.uuid4().hex}'", tmp_path / "e",
                                           progress=False)
    assert (result.matched, result.written, result.files) == (0, 0, 0)
    empty = wfkit.read_histories(tmp_path / "e")
    pd.testing.assert_frame_equal(empty, wfkit.histories_frame([]))
    for helper in ("workflows", "activities", "latency", "retries", "failures", "slowest"):
        assert len(getattr(wfkit.analytics, helper)(tmp_path / "e")) == 0, helper
    with pytest.raises(wfkit.WfkitError, match="holds no Parquet file"):
        wfkit.analytics.sql(tmp_path / "e", "SELECT count(*) FROM events")


@pytest.mark.parametrize("engine_name", ["temporal", "cadence"])
def test_export_cli(server_for: Any, engine_name: str, tmp_path: Any, capsys: Any) -> None:
    from wfkit.cli import main

    url = server_for(engine_name).url
    prefix = f"pqcli-{uuid.uuid4().hex[:8]}-"
    client = wfkit.connect_sync(url)
    try:
        query = wfkit._loop.run_sync(_closed_runs(client, f"tq-{uuid.uuid4().hex[:8]}", prefix, 2))
        out = tmp_path / "cli"
        capsys.readouterr()
        assert main(["export", url, "--query", query, "--format", "parquet", "-o", str(out),
                     "--partition-by", "workflow_type,engine"]) == 0
        assert "wrote 4 histories" in capsys.readouterr().out
        assert (out / "workflow_type=Shouter" / f"engine={engine_name}").is_dir()
        assert main(["export", url, "--query", query, "--format", "parquet", "-o", str(out),
                     "--partition-by", "workflow_type,engine"]) == 0
        said = capsys.readouterr().out
        assert "wrote 0 histories" in said and "4 were there already" in said
        expected = _canonical(client.sync.histories(query, limit=None, progress=False))
        pd.testing.assert_frame_equal(wfkit.read_histories(out), expected)
        assert main(["export", url, "--query", query, "-o", str(out)]) == 1
        assert "give --format parquet" in capsys.readouterr().err
        assert main(["export", url, "--format", "parquet"]) == 1
        assert "-o DIR" in capsys.readouterr().err
    finally:
        client.sync.close()


async def test_fetched_history_run_id_read_from_the_proto(client: Any, task_queue: str, prefix: str) -> None:
    """``History`` reads a fetched run's IDs straight from the start event's proto field (what made a fetched
    history cost a whole event's proto-JSON conversion): the same value the event's JSON holds."""
    query = await _closed_runs(client, task_queue, prefix, 1)
    execs = await client.list(query, limit=None)
    for e in execs:
        h = await client.handle(e.workflow_id, None).history()
        assert h.run_id == e.run_id
        assert h.run_id == h._store.native_attrs(0)["originalExecutionRunId"]
        assert h.workflow_id == e.workflow_id


@pytest.mark.parametrize("engine_name", ["temporal", "cadence"])
async def test_export_decodes_with_the_clients_codec(server_for: Any, engine_name: str, prefix: str,
                                                     task_queue: str, tmp_path: Any) -> None:
    """A client with a payload codec exports decoded payloads, as its ``histories`` frame has them."""
    from wfkit.codecs import AESGCMCodec

    url = server_for(engine_name).url
    secret = f"secret-{uuid.uuid4().hex[:6]}"
    enc = await wfkit.connect(url, codec=AESGCMCodec({"k1": os.urandom(32)}))
    try:
        query = await _closed_runs(enc, task_queue, prefix, 1)
        async with enc.worker(task_queue=task_queue, workflows=WORKFLOWS, activities=ACTIVITIES):
            await (await enc.start(Shouter, secret, id=f"{prefix}secret", task_queue=task_queue)).result(timeout=60)
        await eventually(lambda: _count(enc, query, 4), timeout=30)
        await enc.export_histories(query, tmp_path / "enc", progress=False)
        back = wfkit.read_histories(tmp_path / "enc")
        assert secret.upper() in repr(back["payload"].tolist())
        pd.testing.assert_frame_equal(back, _canonical(await enc.histories(query, limit=None, progress=False)))
    finally:
        await enc.close()


async def _count(client: Any, query: str, n: int) -> bool:
    return len(await client.list(query, limit=None)) == n


KILLED_EXPORT = r"""
import sys
import wfkit
client = wfkit.connect_sync(sys.argv[1])
client.sync.export_histories(sys.argv[2], sys.argv[3], concurrency=1, histories_per_file=1, progress=False)
"""


@pytest.mark.parametrize("engine_name", ["temporal", "cadence"])
async def test_export_killed_midway_then_resumed(server_for: Any, engine_name: str, prefix: str, task_queue: str,
                                                 tmp_path: Any) -> None:
    """An export process SIGKILLed while it writes: no partial file is visible, and the rerun completes the
    dataset with every run exactly once."""
    import asyncio
    import signal
    import subprocess
    import sys

    url = server_for(engine_name).url
    client = await wfkit.connect(url)
    try:
        query = await _closed_runs(client, task_queue, prefix, 18)
        out = tmp_path / "killed"
        proc = subprocess.Popen([sys.executable, "-c", KILLED_EXPORT, url, query, str(out)])
        try:
            async def some_files() -> bool:
                return out.exists() and len(list(out.rglob("*.parquet"))) >= 3

            await eventually(some_files, timeout=60, interval=0.01)
            proc.send_signal(signal.SIGKILL)
        finally:
            await asyncio.to_thread(proc.wait)
        written = len(list(out.rglob("*.parquet")))
        assert 3 <= written < 20, written  # killed midway (18 + 2 histories, one a file)
        partial = wfkit.read_histories(out)  # what is visible is whole files only
        assert len(partial[["workflow_id", "run_id"]].drop_duplicates()) == written
        again = await client.export_histories(query, out, progress=False)
        assert (again.skipped, again.written) == (written, 20 - written)
        expected = _canonical(await client.histories(query, limit=None, progress=False))
        pd.testing.assert_frame_equal(wfkit.read_histories(out), expected)
    finally:
        await client.close()


async def test_export_open_runs_skipped_or_provisional_then_replaced(client: Any, task_queue: str, prefix: str,
                                                                     tmp_path: Any) -> None:
    """A run still open is not written half-done by default (counted in ``open_skipped``); with
    ``include_open=True`` it is written provisionally, and a rerun after it closed replaces its rows."""
    from wfkit.testing.conformance.workflows import ALL_ACTIVITIES, ALL_WORKFLOWS, Waiter

    query = await _closed_runs(client, task_queue, prefix, 1)
    out = tmp_path / "ds"
    async with client.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        h = await client.start(Waiter, 1, id=f"{prefix}waiter", task_queue=task_queue)

        async def waiting() -> bool:
            frame = (await client.handle(h.workflow_id, None).history()).to_dataframe()
            return str(frame["event_type"].iloc[-1]) == "WorkflowTaskCompleted"

        await eventually(waiting, timeout=30)
        await eventually(lambda: _count(client, query, 4), timeout=30)

        closed_only = await client.export_histories(query, out, progress=False)
        assert (closed_only.matched, closed_only.written, closed_only.open_skipped) == (4, 3, 1)
        assert "1 open (not written)" in repr(closed_only)
        assert f"{prefix}waiter" not in set(wfkit.read_histories(out)["workflow_id"])

        provisional = await client.export_histories(query, out, progress=False, include_open=True)
        assert (provisional.written, provisional.provisional, provisional.skipped) == (1, 1, 3)
        assert len(list(out.rglob("*.open.parquet"))) == 1
        half = wfkit.read_histories(out)
        assert half[half["workflow_id"] == f"{prefix}waiter"]["event_type"].iloc[-1] == "WorkflowTaskCompleted"

        await h.signal("add", "x")
        assert await h.result(timeout=60) == ["x"]

    async def closed() -> bool:
        return all(not e.is_open for e in await client.list(query, limit=None))

    await eventually(closed, timeout=30)
    [open_file] = out.rglob("*.open.parquet")
    kept = open_file.read_bytes()
    rerun = await client.export_histories(query, out, progress=False)   # the default: closed runs only
    assert (rerun.written, rerun.replaced, rerun.provisional, rerun.skipped, rerun.open_skipped) == (1, 1, 0, 3, 0)
    assert not list(out.rglob("*.open.parquet"))   # the provisional file is gone
    expected = _canonical(await client.histories(query, limit=None, progress=False))
    pd.testing.assert_frame_equal(wfkit.read_histories(out), expected)   # every run once, the Waiter whole
    assert wfkit.read_histories(out)["event_type"].tolist().count("WorkflowExecutionCompleted") == 2
    nothing = await client.export_histories(query, out, progress=False)
    assert (nothing.written, nothing.skipped, nothing.replaced) == (0, 4, 0)

    # a crash between the new file's rename and the old provisional file's removal: the next run removes it
    open_file.write_bytes(kept)
    assert len(wfkit.read_histories(out)) > len(expected)
    repaired = await client.export_histories(query, out, progress=False)
    assert (repaired.written, repaired.skipped) == (0, 4)
    assert not list(out.rglob("*.open.parquet"))
    pd.testing.assert_frame_equal(wfkit.read_histories(out), expected)


async def test_export_unreadable_file_is_named(client: Any, task_queue: str, prefix: str, tmp_path: Any) -> None:
    """A dataset file that is not Parquet (an empty one, say) is a wfkit error naming it and what to do, for the
    rerun of an export and for ``read_histories``; and the export's files are fsynced before their rename."""
    query = await _closed_runs(client, task_queue, prefix, 1)
    out = tmp_path / "ds2"
    out.mkdir()
    broken = out / "part-broken.parquet"
    broken.write_bytes(b"")
    with pytest.raises(wfkit.WfkitError, match=r"part-broken\.parquet.*not a readable Parquet file.*delete it"):
        await client.export_histories(query, out, progress=False)
    with pytest.raises(wfkit.WfkitError, match=r"part-broken\.parquet.*not a readable Parquet file.*delete it"):
        wfkit.read_histories(out)
    broken.unlink()

    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    mp = pytest.MonkeyPatch()
    mp.setattr(os, "fsync", fsync)
    try:
        result = await client.export_histories(query, out, progress=False, histories_per_file=1)
    finally:
        mp.undo()
    assert result.files == 3
    assert len(synced) >= 2 * result.files   # each file, and its folder after the rename
    pd.testing.assert_frame_equal(wfkit.read_histories(out),
                                  _canonical(await client.histories(query, limit=None, progress=False)))


async def test_export_replaces_one_run_of_a_provisional_file(client: Any, task_queue: str, prefix: str,
                                                            tmp_path: Any) -> None:
    """Two open runs written provisionally in one file; a rerun whose query lists only one of them rewrites that
    file with the other alone (an atomic rename), and the dataset holds each run once."""
    from wfkit.testing.conformance.workflows import ALL_ACTIVITIES, ALL_WORKFLOWS, Waiter

    query = f"WorkflowId STARTS_WITH '{prefix}'"
    out = tmp_path / "ds"
    async with client.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        handles = [await client.start(Waiter, 1, id=f"{prefix}w{i}", task_queue=task_queue) for i in range(2)]

        async def both_waiting() -> bool:
            for h in handles:
                frame = (await client.handle(h.workflow_id, None).history()).to_dataframe()
                if str(frame["event_type"].iloc[-1]) != "WorkflowTaskCompleted":
                    return False
            return await _count(client, query, 2)

        await eventually(both_waiting, timeout=30)
        first = await client.export_histories(query, out, progress=False, include_open=True)
        assert (first.written, first.provisional, first.files) == (2, 2, 1)
        await handles[1].signal("add", "x")
        await handles[1].result(timeout=60)
        one = f"WorkflowId = '{prefix}w1'"

        async def closed() -> bool:
            return all(not e.is_open for e in await client.list(one, limit=None))

        await eventually(closed, timeout=30)
        again = await client.export_histories(one, out, progress=False)
        assert (again.written, again.replaced, again.provisional) == (1, 1, 0)
        [open_file] = out.rglob("*.open.parquet")
        import pyarrow.parquet as pq

        assert set(pq.read_table(open_file, columns=["workflow_id"])["workflow_id"].to_pylist()) == {f"{prefix}w0"}
        expected = _canonical(await client.histories(query, limit=None, progress=False))
        pd.testing.assert_frame_equal(wfkit.read_histories(out), expected)
        await handles[0].signal("add", "y")
        await handles[0].result(timeout=60)
