"""``wfkit migrate`` / ``wfkit replay`` (wfkit/_cli_migrate.py), driven through their argparse setup."""

from __future__ import annotations

import argparse
import asyncio
import warnings

import pytest

import wfkit
from wfkit.examples import orders
from wfkit.migrate._cli import add_migrate_parser, add_replay_parser, load_workflows

from .conftest import ALL_ACTIVITIES, ALL_WORKFLOWS, query_for, wait_listed, wait_status


def run_cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="wfkit")
    sub = p.add_subparsers(dest="command", required=True)
    add_migrate_parser(sub)
    add_replay_parser(sub)
    args = p.parse_args(argv)
    return args.func(args)


def test_load_workflows():
    assert load_workflows(["wfkit.examples.orders"]) == [orders.OrderWorkflow]
    assert load_workflows(["wfkit.examples.orders:OrderWorkflow"]) == [orders.OrderWorkflow]
    with pytest.raises(wfkit.WfkitError, match="no @wfkit.workflow class Nope"):
        load_workflows(["wfkit.examples.orders:Nope"])


async def test_migrate_and_replay_commands(cadence, temporal, task_queue, prefix, tmp_path, capsys):
    ids = [f"{prefix}{i}" for i in range(3)]
    async with cadence.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES), \
            temporal.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        for i, wid in enumerate(ids):
            h = await cadence.start(orders.OrderWorkflow, orders.Order(f"o{i}", "ada", [orders.Item("pen")], 2.0,
                                                                       review_seconds=4), id=wid, task_queue=task_queue)
            await wait_status(h, "in review")
        await wait_listed(cadence, query_for(prefix), len(ids))
        base = ["migrate", "--from", cadence.url, "--to", temporal.url, "--query", query_for(prefix),
                "--workflows", "wfkit.examples.orders", "--checkpoint", str(tmp_path / "ck.jsonl"), "--no-progress"]

        assert await asyncio.to_thread(run_cli, [*base, "--plan-only"]) == 0
        out = capsys.readouterr().out
        assert "3 restart" in out and all(w in out for w in ids)

        assert await asyncio.to_thread(run_cli, [*base, "--dry-run"]) == 0
        assert "(dry run): 3 total, 3 successful" in capsys.readouterr().out

        assert await asyncio.to_thread(run_cli, base) == 2  # no terminal to ask, no --yes
        report_csv = tmp_path / "report.csv"
        assert await asyncio.to_thread(run_cli, [*base, "--yes", "--report", str(report_csv)]) == 0
        assert "3 total, 3 successful, 0 failed" in capsys.readouterr().out
        assert report_csv.read_text().count("successful") == 3
        for wid in ids:
            r = await temporal.handle(wid).result(timeout=60, result_type=orders.OrderResult)
            assert r.status == "confirmed"

    # replay: the migrated copies from Temporal with the Cadence replayer, and files
    argv = ["replay", "--from", temporal.url, "--query", query_for(prefix), "--workflows",
            "wfkit.examples.orders", "--engine", "cadence", "--output", str(tmp_path / "replay.csv")]
    assert await asyncio.to_thread(run_cli, argv) == 0
    assert "3 of 3 replayed without divergence on cadence" in capsys.readouterr().out
    path = tmp_path / "h.json"
    path.write_text((await temporal.handle(ids[0]).history()).to_json(format="temporal"))
    argv = ["replay", str(path), "--workflows", "tests.migration.test_replay:ReorderedSaga"]
    assert await asyncio.to_thread(run_cli, argv) == 1
    assert "NondeterminismError" in capsys.readouterr().out


def test_api_key_on_the_command_line_warns(cadence, temporal, tmp_path, monkeypatch, capsys):
    """A URL with ?api_key=… on argv (visible in ps, /proc/<pid>/cmdline, shell history) is warned about, naming
    the option and the variable to use, never the key."""
    from wfkit.cli import main

    monkeypatch.setenv("WFKIT_STATE_DIR", str(tmp_path))
    with pytest.warns(UserWarning) as caught:
        assert main(["migrate", "--from", cadence.url + "&api_key=sekrit-from-1", "--to", temporal.url,
                     "--on", temporal.url + "&api_key=sekrit-on-2", "--status"]) == 0
    said = [str(w.message) for w in caught if "api_key" in str(w.message)]
    assert len(said) == 2 and said[0].startswith("--from:") and said[1].startswith("--on:"), said
    assert "CADENCE_API_KEY" in said[0] and "TEMPORAL_API_KEY" in said[1] and "WFKIT_API_KEY" in said[1]
    assert not any("sekrit" in m for m in said)
    capsys.readouterr()

    with pytest.warns(UserWarning) as caught:  # a worker whose engine cannot be reached: warned before it fails
        assert main(["worker", "migrate", "--on", "temporal://127.0.0.1:9?api_key=sekrit-on-3&connect_timeout=1",
                     "--source", "cadence://127.0.0.1:9?domain=d&api_key=sekrit-src-4"]) != 0
    said = [str(w.message) for w in caught if "api_key" in str(w.message)]
    assert [m.split(":")[0] for m in said] == ["--on", "--source/--target"], said
    out = capsys.readouterr()
    assert not any("sekrit" in m for m in said) and "sekrit" not in out.err + out.out

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no key in the URL: no warning
        assert main(["migrate", "--from", cadence.url, "--to", temporal.url, "--status"]) == 0
