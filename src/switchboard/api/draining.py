"""The process was asked to stop: open streams end now, each with its terminal event.

uvicorn runs the lifespan's shutdown only once every connection has closed, and a
stream never closes by itself; so streams learn of SIGTERM earlier, from a per-app
`Draining` that the app's lifespan arms by chaining a handler in front of uvicorn's
(never replacing it: uvicorn still stops accepting connections and waits for them).
Stream producers wait on it and end with their dialect's terminal event.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable
from types import FrameType
from typing import Any, TypeVar

from starlette.applications import Starlette

from switchboard.api.realtime.closing import close_source
from switchboard.core.errors import SwitchboardError

T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGINT)
_STATE_KEY = "draining"


SERVER_SHUTDOWN = "server_shutdown"


class Tripped(Exception):
    """A stream was cut short; `reason` says why (`server_shutdown`, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Tripwire:
    """Set once, with a reason; callbacks run on the event loop when it is."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._callbacks: list[Callable[[], None]] = []
        self.reason = ""

    def is_set(self) -> bool:
        """Whether it was set."""
        return self._event.is_set()

    def set(self, reason: str) -> None:
        """Set it (on the event loop's thread); later calls change nothing."""
        if self._event.is_set():
            return
        self.reason = reason
        self._event.set()
        for callback in list(self._callbacks):
            callback()

    async def wait(self) -> None:
        """Until it is set."""
        await self._event.wait()

    def on_set(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` when it is set (soon, if it is already); returns an undo."""
        if self._event.is_set():
            asyncio.get_running_loop().call_soon(callback)
            return lambda: None
        self._callbacks.append(callback)

        def undo() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return undo


class Draining(Tripwire):
    """The app's tripwire for shutdown, set on SIGTERM or SIGINT."""

    def start(self) -> None:
        """Start draining."""
        self.set(SERVER_SHUTDOWN)

    def arm(self) -> Callable[[], None]:
        """Set this on SIGTERM/SIGINT, then call the handler that was there (uvicorn's).

        Only the main thread can install signal handlers; elsewhere (a test's threaded
        server) this does nothing. Returns the function that puts the previous handlers
        back, if ours are still installed.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        loop = asyncio.get_running_loop()
        previous: dict[int, Any] = {}
        installed: dict[int, Callable[[int, FrameType | None], None]] = {}
        for sig in SIGNALS:
            before = signal.getsignal(sig)
            handler = _chained(loop, self.start, before)
            previous[sig] = before
            installed[sig] = handler
            signal.signal(sig, handler)

        def disarm() -> None:
            for sig, handler in installed.items():
                if signal.getsignal(sig) is handler:
                    signal.signal(sig, previous[sig])

        return disarm


def _chained(
    loop: asyncio.AbstractEventLoop, start: Callable[[], None], before: Any
) -> Callable[[int, FrameType | None], None]:
    def handle(sig: int, frame: FrameType | None) -> None:
        # A signal handler may interrupt the loop anywhere: hand over thread-safely. (A
        # loop already closed, an app whose handler was left chained, has nothing to end.)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(start)
        if callable(before):
            before(sig, frame)
        elif before == signal.SIG_DFL:  # nobody else handles it: what it did before us
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)

    return handle


def draining_of(app: Starlette) -> Draining:
    """The app's `Draining` (made on first use, so apps without a lifespan have one)."""
    found: Draining | None = getattr(app.state, _STATE_KEY, None)
    if found is None:
        found = Draining()
        setattr(app.state, _STATE_KEY, found)
    return found


async def until_tripped(source: AsyncIterator[T], wire: Tripwire) -> AsyncIterator[T]:
    """`source`'s items until it ends, or raise `Tripped` once `wire` is set.

    Nearly free per item (the gateway's streams pass every chunk through it): no task and
    no timer per item. A wire set while this waits for the next item cancels the waiting
    task, and that cancellation is taken back here (`uncancel`), as `asyncio.timeout`
    does; a wire set while the consumer holds an item (it is sending it) is noticed when
    the consumer asks for the next one, so the consumer's own awaits are never cut.
    """
    task = asyncio.current_task()
    assert task is not None
    waiting = False
    requested = False
    pending = False  # a cancellation of ours not yet taken back

    def interrupt() -> None:
        nonlocal requested, pending
        requested = True
        if waiting:
            pending = True
            task.cancel()

    undo = wire.on_set(interrupt)
    step = source.__anext__
    try:
        while not requested:
            waiting = True
            try:
                item = await step()
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if pending:
                    pending = False
                    if task.uncancel() == 0:  # ours alone: the wire tripped
                        break
                raise
            except SwitchboardError as exc:
                if requested:  # the source turned our cancellation into its own error
                    raise Tripped(wire.reason) from exc
                raise
            finally:
                waiting = False
                if pending:  # the source swallowed our cancellation: take it back
                    pending = False
                    task.uncancel()
            yield item
        raise Tripped(wire.reason)
    finally:
        undo()
        await close_source(source)
