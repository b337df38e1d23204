"""`MemoryBridgeRelay`: desktops attached to this process, requests relayed to them.

Each request gets a fresh id and a bounded channel; the desktop's frames for that id are
queued there until the reader takes them, so a desktop streaming faster than the
provider reads waits in `deliver` (backpressure) instead of filling memory. A WebSocket
handler attaches its socket here; a relay spanning replicas puts the event bus in front.
A handler that awaits `deliver` in its receive loop holds back that desktop's other
requests while one reader is behind; it may instead read into per-request tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass

from switchboard.core.bridge.errors import (
    bridge_malformed,
    bridge_offline,
    bridge_timeout,
    desktop_error,
)
from switchboard.core.bridge.ports import BridgeConnection, RelayResponse
from switchboard.core.bridge.schemas import (
    CancelFrame,
    FromDesktop,
    RelayRequest,
    RequestFrame,
    ResponseChunk,
    ResponseEnd,
    ResponseError,
    ResponseStart,
    forwardable_headers,
)
from switchboard.core.errors import SwitchboardError
from switchboard.kit.ids import new_id

# Frames one request may have waiting for its reader: a few NDJSON lines of slack.
DEFAULT_CAPACITY = 32


class _Channel:
    """A bounded queue of one request's frames that can fail (after the queued frames)
    or close (dropping them and releasing a waiting writer)."""

    def __init__(self, capacity: int) -> None:
        self._frames: deque[FromDesktop] = deque()
        self._capacity = capacity
        self._error: SwitchboardError | None = None
        self._closed = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()

    async def put(self, frame: FromDesktop) -> None:
        """Queue `frame`, waiting while the channel is full; dropped once closed."""
        while not self._closed and len(self._frames) >= self._capacity:
            self._writable.clear()
            await self._writable.wait()
        if not self._closed:
            self._frames.append(frame)
            self._readable.set()

    async def get(self) -> FromDesktop:
        """The next frame; the failure once the queued frames are read."""
        while not self._frames:
            if self._error is not None:
                raise self._error
            self._readable.clear()
            await self._readable.wait()
        self._writable.set()
        return self._frames.popleft()

    def fail(self, error: SwitchboardError) -> None:
        """End the channel with `error`, after what is already queued."""
        self._error = error
        self._readable.set()

    def close(self) -> None:
        """Drop everything queued and refuse what comes."""
        self._closed = True
        self._frames.clear()
        self._writable.set()


@dataclass(eq=False, slots=True)
class _Pending:
    """One relayed request awaiting its frames."""

    id: str
    bridge_id: str
    connection: BridgeConnection
    channel: _Channel
    # The desktop sent its end or error: nothing to cancel any more.
    ended: bool = False
    finished: bool = False


class _RelayedResponse:
    """The `RelayResponse` of one pending request."""

    def __init__(
        self, relay: MemoryBridgeRelay, pending: _Pending, start: ResponseStart, timeout: float
    ) -> None:
        self._relay = relay
        self._pending = pending
        self._timeout = timeout
        self.status = start.status
        self.headers = forwardable_headers(start.headers)

    def __aiter__(self) -> _RelayedResponse:
        return self

    async def __anext__(self) -> bytes:
        """The next body chunk; `StopAsyncIteration` after the end."""
        if self._pending.finished:
            raise StopAsyncIteration
        frame = await self._relay.next_frame(self._pending, self._timeout)
        if isinstance(frame, ResponseChunk):
            return frame.data
        if isinstance(frame, ResponseEnd):
            await self._relay.finish(self._pending)
            raise StopAsyncIteration
        await self._relay.finish(self._pending)
        raise bridge_malformed(self._pending.bridge_id)

    async def aclose(self) -> None:
        """Stop reading; the desktop is told to cancel unless it already ended."""
        await self._relay.finish(self._pending)


class MemoryBridgeRelay:
    """`BridgeRelay` and `BridgeHub` for desktops attached to this process."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._connections: dict[str, BridgeConnection] = {}
        self._pending: dict[str, _Pending] = {}

    # -- the desktop side ----------------------------------------------------------------

    def attach(self, bridge_id: str, connection: BridgeConnection) -> None:
        """Route `bridge_id` to `connection`; requests sent to one it replaces fail."""
        replaced = self._connections.get(bridge_id)
        self._connections[bridge_id] = connection
        if replaced is not None and replaced is not connection:
            self._fail_pending(bridge_id, replaced)

    async def detach(self, bridge_id: str, connection: BridgeConnection) -> None:
        """Stop routing to `connection`; its pending requests fail as offline."""
        if self._connections.get(bridge_id) is connection:
            del self._connections[bridge_id]
        self._fail_pending(bridge_id, connection)

    async def deliver(self, bridge_id: str, frame: FromDesktop) -> None:
        """Queue `frame` for its request's reader (waiting while the reader is behind)."""
        pending = self._pending.get(frame.id)
        # A desktop answers only what was sent to its own bridge.
        if pending is None or pending.bridge_id != bridge_id:
            return
        if isinstance(frame, ResponseEnd | ResponseError):
            pending.ended = True
        await pending.channel.put(frame)

    def _fail_pending(self, bridge_id: str, connection: BridgeConnection) -> None:
        for pending in list(self._pending.values()):
            if pending.connection is connection:
                del self._pending[pending.id]
                pending.ended = True
                pending.channel.fail(bridge_offline(bridge_id))

    # -- the provider side ---------------------------------------------------------------

    def is_connected(self, bridge_id: str) -> bool:
        """Whether a desktop is attached for `bridge_id` in this process."""
        return bridge_id in self._connections

    async def request(
        self,
        bridge_id: str,
        request: RelayRequest,
        *,
        timeout: float,  # noqa: ASYNC109 (an idle limit, reapplied to every chunk)
    ) -> RelayResponse:
        """Send `request` to the desktop of `bridge_id`; return when its answer starts."""
        connection = self._connections.get(bridge_id)
        if connection is None:
            raise bridge_offline(bridge_id)
        pending = _Pending(new_id(), bridge_id, connection, _Channel(self._capacity))
        self._pending[pending.id] = pending
        outgoing = RelayRequest(
            request.method.upper(), request.path, forwardable_headers(request.headers), request.body
        )
        try:
            try:
                await connection.send(RequestFrame(pending.id, outgoing))
            except ConnectionError:
                raise bridge_offline(bridge_id) from None
            start = await self.next_frame(pending, timeout)
            if not isinstance(start, ResponseStart):
                raise bridge_malformed(bridge_id)
        except BaseException:
            # Cancelled, timed out or refused: the desktop need not go on.
            await self.finish(pending)
            raise
        return _RelayedResponse(self, pending, start, timeout)

    async def next_frame(self, pending: _Pending, timeout: float) -> FromDesktop:  # noqa: ASYNC109
        """The next frame of `pending` within `timeout`; a desktop's error raised as its
        core error kind, silence as `Timeout`, a detach as offline."""
        try:
            async with asyncio.timeout(timeout):
                frame = await pending.channel.get()
        except TimeoutError:
            await self.finish(pending)
            raise bridge_timeout(pending.bridge_id) from None
        except SwitchboardError:
            await self.finish(pending)
            raise
        if isinstance(frame, ResponseError):
            await self.finish(pending)
            raise desktop_error(pending.bridge_id, frame.message, frame.status)
        return frame

    async def finish(self, pending: _Pending) -> None:
        """Forget `pending` (once), telling the desktop to cancel if it had not ended."""
        if pending.finished:
            return
        pending.finished = True
        self._pending.pop(pending.id, None)
        pending.channel.close()
        attached = self._connections.get(pending.bridge_id) is pending.connection
        if pending.ended or not attached:
            return
        # A desktop gone already has nothing left to cancel.
        with contextlib.suppress(ConnectionError):
            await pending.connection.send(CancelFrame(pending.id))
