"""wfkit's own event-loop thread (the dask ``sync()`` pattern).

Every engine channel, client and worker lives on one loop that runs in a daemon thread. Async wfkit calls hand
their coroutine to it and can be awaited from any other loop (a Jupyter kernel's included); ``.sync`` twins block
on it. Interrupting the waiting side cancels the wait only: the engine-side operation is never cancelled by it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ._errors import WfkitError

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_shutdown_hooks: list[Callable[[], Awaitable[None]]] = []


def get_loop() -> asyncio.AbstractEventLoop:
    """Return wfkit's loop, starting its thread on first use."""
    global _loop, _thread
    if _loop is not None and _thread is not None and _thread.is_alive():
        return _loop
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            ready = threading.Event()
            loop = asyncio.new_event_loop()

            def _run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=_run, name="wfkit-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
    return _loop


def in_loop_thread() -> bool:
    """True when called from wfkit's own loop thread (e.g. inside an activity)."""
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on wfkit's loop and return a thread-safe future."""
    return asyncio.run_coroutine_threadsafe(coro, get_loop())


async def on_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on wfkit's loop from whatever loop the caller is on."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None and running is _loop:
        return await coro
    fut = submit(coro)
    if running is None or threading.current_thread() is not threading.main_thread():
        return await asyncio.wrap_future(fut)
    return await _interruptible(running, fut)


class WaitInterrupted(WfkitError):
    """SIGINT (Ctrl-C, a kernel's stop button) ended an awaited wfkit call; nothing on the server was cancelled.

    An ordinary exception, not KeyboardInterrupt: raised inside asyncio tasks (``asyncio.gather`` in a cell),
    a KeyboardInterrupt would escape the kernel's event loop and kill the kernel."""


#: Seconds an awaited call runs before SIGINT is made to interrupt it (see :func:`_interruptible`).
INTERRUPT_GRACE = 0.05

# Waits in progress per foreign main-thread loop; one SIGINT handler per loop while any is waiting.
_waiters: dict[asyncio.AbstractEventLoop, dict[concurrent.futures.Future[Any], asyncio.Task[Any] | None]] = {}
_saved_sigint: dict[asyncio.AbstractEventLoop, Any] = {}
_interrupted: set[concurrent.futures.Future[Any]] = set()


async def _interruptible(loop: asyncio.AbstractEventLoop, fut: concurrent.futures.Future[T]) -> T:
    """Await ``fut`` from a loop in the main thread (a Jupyter kernel's) so that SIGINT (Ctrl-C, the kernel's
    stop button) ends the wait with :class:`WaitInterrupted`, as it ends a ``.sync`` call. Without this,
    ipykernel's interrupt does not reach a cell that awaits. As with ``.sync``, only the wait is cancelled, never
    the workflow or anything else on the server.

    ipykernel's own SIGINT handler is a plain ``signal.signal`` handler, which Python runs only once the loop
    wakes up; a loop waiting on one future never does. ``loop.add_signal_handler`` wakes it (through the loop's
    wakeup fd). Under ``asyncio.run``, which already turns SIGINT into a cancellation, nothing changes. The
    handler goes in only once a wait has lasted :data:`INTERRUPT_GRACE` (a timer; installing the handler costs
    more than a short call: ``benchmarks/interruptible_await.py``)."""
    timer = loop.call_later(INTERRUPT_GRACE, _watch, loop, fut, asyncio.current_task())
    try:
        return await asyncio.wrap_future(fut)
    except asyncio.CancelledError:
        if fut in _interrupted:
            raise WaitInterrupted("interrupted: the wait was cancelled (nothing on the server was)") from None
        raise
    finally:
        timer.cancel()
        _interrupted.discard(fut)
        _unwatch(loop, fut)


def _watch(loop: asyncio.AbstractEventLoop, fut: concurrent.futures.Future[Any], task: asyncio.Task[Any] | None
           ) -> None:
    import signal

    waiting = _waiters.setdefault(loop, {})
    if not waiting:
        try:
            handler = signal.getsignal(signal.SIGINT)
            if not callable(handler) or isinstance(getattr(handler, "__self__", None), asyncio.Runner):
                raise RuntimeError("SIGINT is ignored, or asyncio.run handles it")
            _saved_sigint[loop] = handler
            loop.add_signal_handler(signal.SIGINT, _on_sigint, loop)
        except (NotImplementedError, RuntimeError, ValueError):  # no signal handlers on this loop: a plain wait
            _waiters.pop(loop, None)
            _saved_sigint.pop(loop, None)
            return
    waiting[fut] = task


def _unwatch(loop: asyncio.AbstractEventLoop, fut: concurrent.futures.Future[Any]) -> None:
    import signal

    waiting = _waiters.get(loop)
    if waiting is None or waiting.pop(fut, _MISSING) is _MISSING or waiting:
        return
    _waiters.pop(loop, None)
    loop.remove_signal_handler(signal.SIGINT)
    previous = _saved_sigint.pop(loop, None)
    if previous is not None:  # None: a handler not set from Python, which remove_signal_handler reset
        signal.signal(signal.SIGINT, previous)


_MISSING: Any = object()


def _on_sigint(loop: asyncio.AbstractEventLoop) -> None:
    for fut, task in list(_waiters.get(loop, {}).items()):
        _interrupted.add(fut)
        fut.cancel()
        if task is not None:
            task.cancel()


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on wfkit's loop and block until it is done (the body of every ``.sync`` twin)."""
    if in_loop_thread():
        coro.close()
        raise WfkitError(
            "a .sync call was made from wfkit's own loop thread (e.g. inside an async activity or a worker "
            "callback), where it would deadlock: use the async call with await instead"
        )
    fut = submit(coro)
    try:
        return fut.result(timeout)
    except KeyboardInterrupt:
        # Ctrl-C / kernel interrupt cancels the wait, never the workflow.
        fut.cancel()
        raise
    except concurrent.futures.TimeoutError:
        fut.cancel()
        raise


def add_shutdown_hook(hook: Callable[[], Awaitable[None]]) -> None:
    """Run ``hook()`` on wfkit's loop at interpreter exit (workers stop, embedded servers close)."""
    _shutdown_hooks.append(hook)


def remove_shutdown_hook(hook: Callable[[], Awaitable[None]]) -> None:
    try:
        _shutdown_hooks.remove(hook)
    except ValueError:
        pass


@atexit.register
def _shutdown() -> None:
    if _loop is None or _thread is None or not _thread.is_alive():
        return

    async def _run_hooks() -> None:
        for hook in reversed(list(_shutdown_hooks)):
            try:
                await asyncio.wait_for(hook(), 10)
            except BaseException:  # noqa: BLE001 - exit must go on whatever a hook does
                pass

    try:
        asyncio.run_coroutine_threadsafe(_run_hooks(), _loop).result(30)
    except BaseException:  # noqa: BLE001
        pass
    _loop.call_soon_threadsafe(_loop.stop)
    _thread.join(5)


class SyncProxy:
    """``obj.sync``: the same object, with every coroutine method turned into a blocking call.

    Plain (non-async) methods and attributes pass through unchanged; results that themselves have a ``sync``
    attribute keep it, so ``client.sync.handle("id").sync.result()`` and ``client.sync.start(...).result`` read
    naturally.
    """

    __slots__ = ("_target",)

    def __init__(self, target: Any):
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if asyncio.iscoroutinefunction(attr):
            def blocking(*args: Any, **kwargs: Any) -> Any:
                return run_sync(attr(*args, **kwargs))

            blocking.__name__ = name
            blocking.__doc__ = attr.__doc__
            return blocking
        return attr

    def __dir__(self) -> list[str]:
        return [n for n in dir(self._target) if not n.startswith("_")]

    def __repr__(self) -> str:
        return f"<sync twin of {self._target!r}>"

    def __enter__(self) -> Any:
        return self._target.__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self._target.__exit__(*exc)
