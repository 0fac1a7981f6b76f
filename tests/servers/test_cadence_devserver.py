"""The real Cadence server (v1.4.1, SQLite) started and stopped from Python. No mocks.

The first test builds the server with Go when it is not cached yet (minutes on a fresh machine; `make setup`
normally did it already).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
try:
    from wfkit_cadence import devserver
except ImportError:  # adapter not installed: use the source tree
    sys.path.insert(0, str(REPO / "adapters" / "cadence"))
    from wfkit_cadence import devserver

CadenceDevServer = devserver.CadenceDevServer
DevServerError = devserver.DevServerError

pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module", autouse=True)
def binaries():
    """Build (or find) the server once; the build alone may take many minutes on a fresh machine."""
    return devserver.cadence_binaries(build=True)


def _domain_api(address):
    import grpc
    from cadence.api.v1 import service_domain_pb2, service_domain_pb2_grpc

    channel = grpc.insecure_channel(address)
    return channel, service_domain_pb2_grpc.DomainAPIStub(channel), service_domain_pb2


def _describe(address, name):
    channel, stub, pb = _domain_api(address)
    with channel:
        return stub.DescribeDomain(pb.DescribeDomainRequest(name=name), timeout=10,
                                   metadata=devserver._YARPC_METADATA)


def _listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(ip, port) of every TCP socket that process ``pid`` listens on (IPv4 and IPv6), from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        with open(f"/proc/{pid}/net/{table}") as f:
            next(f)
            for line in f:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state != "0A" or inode not in inodes:  # 0A = LISTEN
                    continue
                hexip, hexport = local.split(":")
                if width == 8:
                    ip = socket.inet_ntop(socket.AF_INET, bytes.fromhex(hexip)[::-1])
                else:
                    raw = bytes.fromhex(hexip)
                    ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
                out.add((ip, int(hexport, 16)))
    return out


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_register_describe_and_stop():
    with CadenceDevServer.start() as srv:
        assert srv.host == "127.0.0.1"
        assert srv.address == f"127.0.0.1:{srv.port}"
        assert srv.db is None
        resp = _describe(srv.address, "default")
        assert resp.domain.name == "default"
        assert resp.domain.workflow_execution_retention_period.seconds == 86400

        # register another domain straight through gRPC and read it back
        channel, stub, pb = _domain_api(srv.address)
        with channel:
            from google.protobuf import duration_pb2

            stub.RegisterDomain(pb.RegisterDomainRequest(
                name="wfkit-test-domain", workflow_execution_retention_period=duration_pb2.Duration(seconds=3600)),
                timeout=10, metadata=devserver._YARPC_METADATA)
        assert _describe(srv.address, "wfkit-test-domain").domain.name == "wfkit-test-domain"

        # every listening socket is on the loopback address
        listening = _listening_addresses(srv.pid)
        assert ("127.0.0.1", srv.port) in listening
        assert {ip for ip, _ in listening} == {"127.0.0.1"}, listening

        pid, rundir = srv.pid, srv.rundir
    assert not _pid_exists(pid)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing left of its process group either
    assert not rundir.exists()  # temporary db and config are gone


def test_a_workflow_runs_to_completion_over_raw_grpc():
    """Frontend, history, matching and the SQLite stores at work: start a workflow, take its decision task,
    complete it, read the history and the closed-workflow visibility record."""
    import grpc
    from cadence.api.v1 import (
        common_pb2,
        decision_pb2,
        history_pb2,
        service_visibility_pb2,
        service_visibility_pb2_grpc,
        service_worker_pb2,
        service_worker_pb2_grpc,
        service_workflow_pb2,
        service_workflow_pb2_grpc,
        tasklist_pb2,
        visibility_pb2,
        workflow_pb2,
    )
    from google.protobuf import duration_pb2, timestamp_pb2

    md = devserver._YARPC_METADATA
    with CadenceDevServer.start() as srv, grpc.insecure_channel(srv.address) as ch:
        wf = service_workflow_pb2_grpc.WorkflowAPIStub(ch)
        worker = service_worker_pb2_grpc.WorkerAPIStub(ch)
        vis = service_visibility_pb2_grpc.VisibilityAPIStub(ch)
        tl = tasklist_pb2.TaskList(name="wfkit-raw-tl")
        wid = f"raw-{uuid.uuid4()}"
        started = wf.StartWorkflowExecution(service_workflow_pb2.StartWorkflowExecutionRequest(
            domain="default", workflow_id=wid, workflow_type=common_pb2.WorkflowType(name="RawWorkflow"),
            task_list=tl, input=common_pb2.Payload(data=b'"hi"'),
            execution_start_to_close_timeout=duration_pb2.Duration(seconds=60),
            task_start_to_close_timeout=duration_pb2.Duration(seconds=10),
            identity="test", request_id=str(uuid.uuid4())), timeout=10, metadata=md)
        task = worker.PollForDecisionTask(service_worker_pb2.PollForDecisionTaskRequest(
            domain="default", task_list=tl, identity="test"), timeout=70, metadata=md)
        assert task.workflow_type.name == "RawWorkflow"
        assert task.workflow_execution.run_id == started.run_id
        worker.RespondDecisionTaskCompleted(service_worker_pb2.RespondDecisionTaskCompletedRequest(
            task_token=task.task_token, identity="test", decisions=[decision_pb2.Decision(
                complete_workflow_execution_decision_attributes=decision_pb2.CompleteWorkflowExecutionDecisionAttributes(
                    result=common_pb2.Payload(data=b'"done"')))]), timeout=10, metadata=md)

        execution = common_pb2.WorkflowExecution(workflow_id=wid, run_id=started.run_id)
        hist = wf.GetWorkflowExecutionHistory(service_workflow_pb2.GetWorkflowExecutionHistoryRequest(
            domain="default", workflow_execution=execution), timeout=10, metadata=md)
        last = hist.history.events[-1]
        assert last.HasField("workflow_execution_completed_event_attributes")
        assert last.workflow_execution_completed_event_attributes.result.data == b'"done"'
        desc = wf.DescribeWorkflowExecution(service_workflow_pb2.DescribeWorkflowExecutionRequest(
            domain="default", workflow_execution=execution), timeout=10, metadata=md)
        assert desc.workflow_execution_info.close_status == workflow_pb2.WORKFLOW_EXECUTION_CLOSE_STATUS_COMPLETED
        assert isinstance(hist.history, history_pb2.History)

        # the visibility store (second SQLite db) gets the closed record asynchronously
        deadline = time.monotonic() + 30
        while True:
            window = visibility_pb2.StartTimeFilter(
                earliest_time=timestamp_pb2.Timestamp(seconds=0),
                latest_time=timestamp_pb2.Timestamp(seconds=int(time.time()) + 3600))
            closed = vis.ListClosedWorkflowExecutions(service_visibility_pb2.ListClosedWorkflowExecutionsRequest(
                domain="default", page_size=10, start_time_filter=window), timeout=10, metadata=md)
            if any(e.workflow_execution.workflow_id == wid for e in closed.executions):
                break
            assert time.monotonic() < deadline, "closed workflow never showed up in visibility"
            time.sleep(0.2)


def test_restart_on_a_file_db_keeps_the_domain(tmp_path):
    db = tmp_path / "state" / "cadence.db"
    with CadenceDevServer.start(db=db, domain="kept-domain") as srv:
        assert srv.db == str(db)
        assert _describe(srv.address, "kept-domain").domain.name == "kept-domain"
        first_schema = srv.timings["schema"]
    assert db.exists() and (tmp_path / "state" / "cadence_visibility.db").exists()
    # second run: no schema setup, no registration; the domain is still there
    with CadenceDevServer.start(db=db, domain="") as srv:
        assert _describe(srv.address, "kept-domain").domain.name == "kept-domain"
        assert srv.timings["schema"] < first_schema
    assert db.exists()


def test_restart_after_the_server_was_killed(tmp_path):
    db = tmp_path / "crash"  # a directory: cadence.db and cadence_visibility.db inside
    db.mkdir()
    srv = CadenceDevServer.start(db=db, domain="survivor")
    os.killpg(srv.pid, 9)  # no graceful shutdown: WAL files stay behind
    srv.process.wait(10)
    srv.stop()
    assert (db / "cadence.db").exists()
    with CadenceDevServer.start(db=db, domain="") as again:
        assert _describe(again.address, "survivor").domain.name == "survivor"


def test_two_servers_at_once():
    with CadenceDevServer.start() as a, CadenceDevServer.start() as b:
        assert a.port != b.port
        assert not set(a.ports.values()) & set(b.ports.values())
        assert _describe(a.address, "default").domain.name == "default"
        assert _describe(b.address, "default").domain.name == "default"
        assert a.alive() and b.alive()


def _gone_or_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # dead, waiting for init to reap it


def test_no_orphan_when_the_python_parent_is_killed():
    code = (
        "import os, signal, sys\n"
        f"sys.path[:0] = {sys.path!r}\n"
        "from wfkit_cadence import devserver\n"
        "s = devserver.CadenceDevServer.start(domain='')\n"
        "print(s.pid, s.rundir, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == -9, out.stderr
    pid_s, rundir_s = out.stdout.split()
    pid, rundir = int(pid_s), Path(rundir_s)
    deadline = time.monotonic() + 10
    while not _gone_or_zombie(pid):
        assert time.monotonic() < deadline, f"server {pid} outlived its killed parent"
        time.sleep(0.05)
    assert rundir.exists()  # nobody ran stop() ...
    log = Path((rundir / "log.path").read_text())
    assert log.exists()
    with CadenceDevServer.start(domain=""):
        assert not rundir.exists()  # ... so the next start removes it
        assert not log.exists()


def test_port_in_use_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(DevServerError) as e:
            CadenceDevServer.start(port=port)
    assert str(e.value) == f"port {port} on 127.0.0.1 is in use: pick another with --port"


def test_a_broken_db_file_names_the_log(tmp_path):
    db = tmp_path / "broken.db"
    db.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(DevServerError) as e:
        CadenceDevServer.start(db=db)
    first_line, _, tail = str(e.value).partition("\n")
    assert first_line.startswith(f"creating the Cadence schema in {db} failed")
    log = Path(first_line.rsplit("last lines of ", 1)[1].rstrip(":"))
    assert log.exists() and "setup-schema" in log.read_text()  # the log outlives the failed start
    assert tail
    log.unlink()


def test_missing_binary_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WFKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("WFKIT_CADENCE_SERVER", raising=False)
    with pytest.raises(DevServerError) as e:
        devserver.cadence_binaries()
    msg = str(e.value)
    assert "\n" not in msg
    assert msg == ("Cadence server v1.4.1 is not built yet: run `wfkit devserver cadence --build` (needs Go)")
    with pytest.raises(DevServerError, match="not built yet"):
        CadenceDevServer.start()


def test_bad_prebuilt_dir_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WFKIT_CADENCE_SERVER", str(tmp_path))
    with pytest.raises(DevServerError, match="WFKIT_CADENCE_SERVER") as e:
        devserver.cadence_binaries()
    assert "\n" not in str(e.value)


def test_build_without_go_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WFKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(DevServerError, match="Go is needed") as e:
        devserver.cadence_binaries(build=True)
    assert "\n" not in str(e.value)


def test_failed_build_names_its_log(tmp_path, monkeypatch):
    # a real `go build` that cannot fetch its modules: empty module cache, proxy off
    monkeypatch.setenv("WFKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "gomodcache"))
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.setenv("GOFLAGS", "")
    with pytest.raises(DevServerError) as e:
        devserver.cadence_binaries(build=True)
    msg = str(e.value)
    assert "\n" not in msg
    log = tmp_path / "cache" / "cadence-v1.4.1" / "build.log"
    assert msg == f"building the Cadence server failed (go build exited 1): full output in {log}"
    assert "GOPROXY=off" in log.read_text()
    assert not list((tmp_path / "cache" / "cadence-v1.4.1").glob("cadence-*"))  # no half binary


def test_module_imports_no_sdk():
    """The devserver module itself imports only the standard library (grpc/cadence come in at start)."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('cadence_devserver_probe', {str(devserver.__file__)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "bad = [n for n in ('grpc', 'cadence', 'google.protobuf', 'wfkit_cadence') if n in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": ""})
    assert importlib.util.find_spec("wfkit_cadence.devserver") is not None


def test_config_dir_lifts_the_transfer_queue_poll_cap(tmp_path):
    """The dev server's dynamic config is Cadence's development one plus our overrides (the history transfer queue
    polled without the 20/s cap that added ~50 ms to every task dispatch), and the zone file points at it."""
    import json

    source = devserver.cadence_source_dir()
    confdir = devserver.write_config_dir(tmp_path, source, {"log": {"level": "warn"}})
    zone = json.loads((confdir / f"development_{devserver.ZONE}.yaml").read_text())
    dynamic = Path(zone["dynamicconfig"]["filebased"]["filepath"])
    text = dynamic.read_text()
    assert text.startswith((source / "config" / "dynamicconfig" / "development.yaml").read_text().rstrip("\n"))
    assert "history.transferProcessorMaxPollRPS:\n- value: 1000\n" in text
    assert zone["log"] == {"level": "warn"}
