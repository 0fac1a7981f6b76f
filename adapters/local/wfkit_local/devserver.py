"""The local engine's "dev server": nothing to start; it names the in-process store (``DevServer``)."""

from __future__ import annotations


class LocalDevServer:
    """``local://`` (or ``local:///path.db`` kept in a file) as a ``DevServer``: no process of its own (``pid`` is
    0, which no process has), always alive until stopped."""

    def __init__(self, *, db: str | None = None, namespace: str = "default"):
        from ._client import _namespaces

        self._db = db
        self._namespace = namespace
        self._alive = True
        _namespaces.setdefault(db or ":memory:", {"default"}).add(namespace)

    @property
    def url(self) -> str:
        q = f"namespace={self._namespace}"
        return f"local://?{q}" + (f"&db={self._db}" if self._db else "")

    @property
    def address(self) -> str:
        return "in-process"   # local://in-process is local:// (what `{engine}://{server.address}` makes)

    @property
    def namespace(self) -> str:
        return self._namespace

    @property
    def pid(self) -> int:
        return 0

    def alive(self) -> bool:
        return self._alive

    def log_tail(self, lines: int = 20) -> str:
        return ""

    def stop(self, timeout: float = 20) -> None:
        self._alive = False

    def __repr__(self) -> str:
        return f"<LocalDevServer {self.url}>"
