"""The connections registry: used from plain Python, seen by ``%wf`` and by the widgets; the package's names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import wfkit
import wfkit.notebook
from wfkit.notebook import connections
from wfkit.notebook.connections import Connections, NotConnected, UnknownConnection


class FakeClient:
    """Just what the registry reads of a client."""

    def __init__(self, engine: str = "temporal", address: str = "127.0.0.1:1"):
        self.engine, self.address, self.namespace = engine, address, "default"
        self.closed = False
        self.sync = self

    def close(self) -> None:
        self.closed = True


def test_notebook_exports():
    assert wfkit.notebook.__all__ == ["ConnectionPanel", "Connections", "LiveMonitor", "Panel", "WfMagic",
                                      "WorkflowBrowser", "connections", "load_ipython_extension", "plot_timeline"]
    for name in wfkit.notebook.__all__:
        assert getattr(wfkit.notebook, name) is not None
    assert wfkit.notebook.connections is connections and wfkit.notebook.Connections is Connections
    assert set(wfkit.notebook.__all__) <= set(dir(wfkit.notebook))


@pytest.mark.parametrize("module", ["wfkit.notebook", "wfkit.notebook.connections"])
def test_import_is_light(module):
    code = (f"import sys, {module}; print([m for m in ('IPython', 'ipywidgets', 'matplotlib', 'pandas') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_old_widgets_import_path():
    pytest.importorskip("ipywidgets", reason="the widgets need ipywidgets (the notebook extra)")
    from wfkit.notebook.widgets import Panel as NewPanel
    from wfkit.widgets import ConnectionPanel, LiveMonitor, Panel, WorkflowBrowser  # noqa: F401

    assert Panel is NewPanel


def test_registry_names_current_and_errors():
    reg = Connections()
    assert reg.current is None and reg.current_name is None and len(reg) == 0 and reg.list() == []
    with pytest.raises(NotConnected, match="not connected"):
        reg.get()
    a, b, c = FakeClient(), FakeClient(), FakeClient("cadence", "127.0.0.1:2")
    assert reg.add(a) == "temporal" and reg.current is a
    assert reg.add(b) == "temporal1" and reg.current is b          # a taken name is numbered
    assert reg.add(c, "cad", make_current=False) == "cad" and reg.current is b
    assert reg.names() == ["temporal", "temporal1", "cad"] and list(reg) == reg.names()
    assert reg.get("cad") is c and reg["temporal"] is a and "cad" in reg and "nope" not in reg
    assert [(i.name, i.current, i.engine, i.address) for i in reg.list()] == [
        ("temporal", False, "temporal", "127.0.0.1:1"), ("temporal1", True, "temporal", "127.0.0.1:1"),
        ("cad", False, "cadence", "127.0.0.1:2")]
    assert reg.use("cad") is c and reg.current_name == "cad"
    with pytest.raises(UnknownConnection, match=r"no connection named 'nope' \(have: temporal, temporal1, cad\)"):
        reg.use("nope")
    assert isinstance(UnknownConnection("x"), (wfkit.WfkitError, LookupError))
    assert "*cad (cadence 127.0.0.1:2)" in repr(reg)

    a2 = FakeClient()
    reg.add(a2, "temporal", make_current=False)                    # replacing a name closes the client it held
    assert a.closed and reg["temporal"] is a2
    reg.close()                                                    # the current one; the first left is current
    assert c.closed and "cad" not in reg and reg.current_name == "temporal"
    reg.close_all()
    assert a2.closed and b.closed and len(reg) == 0 and reg.current is None
    with pytest.raises(NotConnected):
        reg.close()


def test_module_functions_are_the_default_registry():
    assert connections.get is not None and connections.list() == connections.default.list()
    fake = FakeClient()
    name = connections.add(fake, "plain")
    try:
        assert connections.current is fake and connections.current_name == "plain"
        assert connections.default["plain"] is fake
        assert "current" in dir(connections) and "Connections" in dir(connections)
    finally:
        connections.close(name)
    assert fake.closed and connections.current is None
    with pytest.raises(AttributeError):
        connections.nothing_here  # noqa: B018


def test_recent_workflow_ids(temporal_server):
    client = wfkit.connect_sync(temporal_server.url)
    try:
        client.handle("recent-a")
        client.handle("recent-b")
        client.handle("recent-a")
        assert client.recent_workflow_ids[:2] == ("recent-a", "recent-b")
        assert client.recent_workflow_ids.count("recent-a") == 1
    finally:
        client.sync.close()


def test_plain_python_magic_and_widgets_share_the_registry(ip, magic, temporal_server, capsys):
    pytest.importorskip("ipywidgets", reason="the widgets need ipywidgets (the notebook extra)")
    from wfkit.notebook.widgets import ConnectionPanel, Panel

    assert magic.connections is connections.default

    # plain Python connects; the magic sees it
    client = connections.connect(temporal_server.url, name="script")
    assert magic.current == "script" and magic.client is client
    frame = ip.run_line_magic("wf", "connections")
    assert frame["name"].tolist() == ["script"] and frame["current"].tolist() == [True]
    assert ip.run_line_magic("wf", "describe shared-missing-id") is None
    assert capsys.readouterr().err.startswith("WorkflowNotFound")   # it ran, against that client

    # the magic connects; plain Python sees it
    ip.run_line_magic("wf", f"connect {temporal_server.url} --as from_magic")
    assert connections.current_name == "from_magic" and connections.get() is magic.client

    # the panel opens on the current connection; its connection panel writes into the same registry
    panel = ip.run_line_magic("wf", "panel")
    assert isinstance(panel, Panel) and panel.connections is connections.default
    assert panel.browser.client is connections.get("from_magic")
    panel.connection.url.value = temporal_server.url
    panel.connection.alias.value = "from_widget"
    panel.connection.button.click()
    assert not panel.connection.out.outputs, panel.connection.out.outputs
    assert connections.current_name == "from_widget" and magic.current == "from_widget"
    assert panel.browser.client is connections.get("from_widget")
    assert "from_widget" in magic.completions("%wf use from_")

    # a ConnectionPanel on a registry of its own stays out of the shared one
    mine = Connections()
    own = ConnectionPanel(url=temporal_server.url, connections=mine)
    own.button.click()
    assert mine.names() == ["temporal"] and "temporal" not in connections.names()
    mine.close_all()

    ip.run_line_magic("wf", "close from_widget")
    assert "from_widget" not in connections.names() and connections.current_name == "script"
    connections.close_all()
    assert ip.run_line_magic("wf", "connections").empty
