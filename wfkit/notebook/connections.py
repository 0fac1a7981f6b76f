"""Named connections, shared by the ``%wf`` magic, the widgets and plain Python.

A :class:`Connections` registry holds clients under names and knows which one is current. One default registry
serves a whole kernel; this module's functions are that registry's methods, so a script and a notebook cell see
the same connections::

    from wfkit.notebook import connections

    connections.connect("temporal://localhost:7233", name="prod")   # also: %wf connect … --as prod
    connections.add(other_client, name="staging", make_current=False)
    connections.use("prod")
    connections.get()            # the current client; connections.get("staging") by name
    connections.list()           # [ConnectionInfo(name='prod', current=True, engine=…), …]
    connections.start_worker(task_queue="orders", workflows=[OrderWorkflow], activities=[charge])  # %wf worker
    connections.close("staging")  # also stops the workers started on it

Importing this module imports neither IPython nor pandas.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wfkit._errors import WfkitError

if TYPE_CHECKING:
    from wfkit._client import Client, Worker

__all__ = ["ConnectionInfo", "Connections", "NotConnected", "UnknownConnection", "default"]


class NotConnected(WfkitError):
    """The registry has no current connection."""


class UnknownConnection(WfkitError, LookupError):
    """No connection has that name."""


@dataclass(frozen=True)
class ConnectionInfo:
    """One row of :meth:`Connections.list`."""

    name: str
    """The connection's name in the registry."""
    current: bool
    """Whether it is the current connection."""
    engine: str
    """The engine plugin's name."""
    address: str
    """host:port of the server's frontend."""
    namespace: str
    """The namespace (the domain on engines that call it so)."""


class Connections:
    """Clients under names, one of them current (the one ``%wf list`` and friends use).

    Names keep the order they were added in. Replacing a name closes the client it held.
    """

    def __init__(self) -> None:
        self._clients: dict[str, Client] = {}
        self._current: str | None = None
        self._workers: dict[str, builtins.list[Worker]] = {}

    # --- reading ---------------------------------------------------------------------------------------
    @property
    def current(self) -> Client | None:
        """The current client, or None when nothing is connected."""
        return None if self._current is None else self._clients[self._current]

    @property
    def current_name(self) -> str | None:
        """The current connection's name, or None."""
        return self._current

    def names(self) -> builtins.list[str]:
        """The connections' names, in the order they were added."""
        return [*self._clients]

    def get(self, name: str | None = None) -> Client:
        """The client named ``name`` (default: the current one).

        Raises:
            NotConnected: ``name`` is None and nothing is connected.
            UnknownConnection: no connection has that name.
        """
        return self._clients[self._name(name)]

    def _name(self, name: str | None) -> str:
        if name is None:
            if self._current is None:
                raise NotConnected("not connected: connect first (wfkit.notebook.connections.connect(url))")
            return self._current
        if name not in self._clients:
            raise UnknownConnection(f"no connection named {name!r} (have: {', '.join(self._clients) or 'none'})")
        return name

    def list(self) -> builtins.list[ConnectionInfo]:
        """One :class:`ConnectionInfo` per connection, in the order they were added."""
        return [ConnectionInfo(name=n, current=n == self._current, engine=c.engine, address=c.address,
                               namespace=c.namespace) for n, c in self._clients.items()]

    def __getitem__(self, name: str) -> Client:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._clients

    def __iter__(self) -> Iterator[str]:
        return iter([*self._clients])

    def __len__(self) -> int:
        return len(self._clients)

    def __repr__(self) -> str:
        rows = [f"{'*' if n == self._current else ''}{n} ({c.engine} {c.address})" for n, c in self._clients.items()]
        return f"<wfkit Connections: {', '.join(rows) or 'none'}>"

    # --- changing --------------------------------------------------------------------------------------
    def add(self, client: Client, name: str | None = None, *, make_current: bool = True) -> str:
        """Keep ``client`` under ``name`` and return the name.

        Args:
            client: a connected :class:`wfkit.Client`.
            name: default: the engine's name, numbered when that name is taken (``temporal``, ``temporal2``…).
            make_current: make it the current connection (the first connection always is).
        """
        if name is None:
            name = client.engine if client.engine not in self._clients else f"{client.engine}{len(self._clients)}"
        old = self._clients.get(name)
        if old is not None and old is not client:
            old.sync.close()
        self._clients[name] = client
        if make_current or self._current is None:
            self._current = name
        return name

    def connect(self, url: str | None = None, *, name: str | None = None, make_current: bool = True,
                **options: Any) -> Client:
        """Connect (``wfkit.connect_sync(url, **options)``), keep the client under ``name`` and return it."""
        from wfkit._client import connect_sync

        client = connect_sync(url, **options)
        self.add(client, name, make_current=make_current)
        return client

    def get_or_connect(self, name_or_url: str) -> Client:
        """The client of that name; or, for a URL, a new connection kept under the URL (not made current)."""
        if name_or_url in self._clients or "://" not in name_or_url:
            return self.get(name_or_url)
        return self.connect(name_or_url, name=name_or_url, make_current=False)

    def use(self, name: str) -> Client:
        """Make ``name`` the current connection and return its client.

        Raises:
            UnknownConnection: no connection has that name.
        """
        client = self.get(name)
        self._current = name
        return client

    # --- workers ---------------------------------------------------------------------------------------
    def start_worker(self, *, task_queue: str, workflows: Sequence[type] = (), activities: Sequence[Any] = (),
                     name: str | None = None, **options: Any) -> Worker:
        """Start a background worker on the connection ``name`` (default: the current one) and return it.

        It polls on wfkit's loop thread while other cells run; :meth:`stop_workers` or closing the connection
        stops it. ``options`` go to :meth:`wfkit.Client.worker`.
        """
        key = self._name(name)
        worker = self._clients[key].worker(task_queue=task_queue, workflows=workflows, activities=activities,
                                           **options).start()
        self._workers.setdefault(key, []).append(worker)
        return worker

    def workers(self, name: str | None = None) -> builtins.list[Worker]:
        """The running workers started through :meth:`start_worker` on the connection ``name`` (default: the
        current one)."""
        key = self._name(name)
        running = [w for w in self._workers.get(key, []) if w.running]
        self._workers[key] = running
        return running

    def stop_workers(self, name: str | None = None) -> int:
        """Stop the workers :meth:`start_worker` started on ``name`` (default: the current connection); returns
        how many were running."""
        key = self._name(name)
        running = [w for w in self._workers.pop(key, []) if w.running]
        for w in running:
            w.stop()
        return len(running)

    def close(self, name: str | None = None) -> None:
        """Close the connection ``name`` (default: the current one) and forget it, stopping the workers started
        on it. When it was current, the first remaining connection becomes current.

        Raises:
            NotConnected / UnknownConnection: as :meth:`get`.
        """
        key = self._name(name)
        self.stop_workers(key)
        client = self._clients.pop(key)
        if self._current == key:
            self._current = next(iter(self._clients), None)
        client.sync.close()

    def close_all(self) -> None:
        """Close and forget every connection."""
        for name in self.names():
            self.close(name)


#: The registry of this process: the ``%wf`` magic, the widgets and this module's functions all use it.
default = Connections()

_DELEGATED = ("add", "close", "close_all", "connect", "current", "current_name", "get", "get_or_connect", "list",
              "names", "start_worker", "stop_workers", "use", "workers")


def __getattr__(name: str) -> Any:
    # The module-level API is the default registry's (read live, so `current` is never stale).
    if name in _DELEGATED:
        return getattr(default, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> builtins.list[str]:
    return sorted([*globals(), *_DELEGATED])
