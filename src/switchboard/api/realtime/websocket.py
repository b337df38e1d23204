"""WebSocket helpers: authentication, heartbeats, and a pump from the bus to the socket.

A token may come as `Authorization: Bearer ...` or as `?token=...` (documents such as
PocketPaw's and CloudToLocalLLM's put it in the URL; the access log scrubs `token=`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from switchboard.api.auth import BEARER_SUBPROTOCOL, Handshake, subprotocol_bearer
from switchboard.api.draining import SERVER_SHUTDOWN
from switchboard.api.realtime.auth import Authenticator
from switchboard.api.realtime.closing import close_source
from switchboard.api.realtime.guard import StreamGuard, closed_event
from switchboard.api.realtime.sse import event_body
from switchboard.core.accounts.principal import Principal
from switchboard.core.errors import ErrorKind, SwitchboardError
from switchboard.core.events.schemas import Event

log = structlog.get_logger(__name__)

# Private-use close codes (4000-4999) mirroring HTTP statuses, readable by browsers.
CLOSE_UNAUTHORIZED = 4401
CLOSE_HEARTBEAT_TIMEOUT = 4408
CLOSE_GOING_AWAY = 1001
# The server is restarting: the client may reconnect (to another replica) at once.
CLOSE_SERVICE_RESTART = 1012

WebSocketFormatter = Callable[[Event], Any]
"""One event as one JSON message; None skips the event."""
MessageHandler = Callable[[str], Awaitable[None]]
"""Called with every text message from the client that is not a heartbeat reply."""


def default_ws_format(event: Event) -> dict[str, object]:
    """The event's neutral JSON shape (`id`, `topic`, `type`, `data`, `at`)."""
    return event_body(event)


def _is_json_pong(message: str) -> bool:
    try:
        body = orjson.loads(message)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and body.get("type") == "pong"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Send `ping()` every `interval` seconds; a client silent for `timeout` seconds after a
    ping is gone. Any message from the client counts as a sign of life."""

    interval: float = 30.0
    timeout: float = 10.0
    ping: Callable[[], Any] = field(default=lambda: {"type": "ping"})
    is_pong: Callable[[str], bool] = _is_json_pong


async def accept_authenticated(
    websocket: WebSocket,
    authenticate: Authenticator,
    *,
    deny_code: int = CLOSE_UNAUTHORIZED,
    deny_after_accept: bool = True,
    subprotocol: str | None = None,
) -> Principal | None:
    """Authenticate, then accept; on failure close and return None.

    With `deny_after_accept` the socket is accepted and closed with `deny_code`, which
    browsers can read; without it the handshake itself is refused (HTTP 403).
    """
    if subprotocol is None and subprotocol_bearer(websocket.scope) is not None:
        subprotocol = BEARER_SUBPROTOCOL
    try:
        principal = await authenticate(Handshake(websocket))
    except SwitchboardError as exc:
        if exc.kind not in (ErrorKind.UNAUTHENTICATED, ErrorKind.PERMISSION_DENIED):
            raise
        if deny_after_accept:
            await websocket.accept(subprotocol=subprotocol)
            await websocket.close(code=deny_code, reason="Unauthorized")
        else:
            await websocket.close(code=deny_code)
        return None
    await websocket.accept(subprotocol=subprotocol)
    return principal


class _Link:
    """One socket's sending side: serialised sends and the time the client last spoke."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.lock = asyncio.Lock()
        self.last_seen = asyncio.get_running_loop().time()

    async def send(self, message: Any) -> None:
        async with self.lock:
            await self.websocket.send_text(orjson.dumps(message).decode())

    async def close(self, code: int) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                async with self.lock:
                    await self.websocket.close(code=code)


async def pump_events(
    websocket: WebSocket,
    source: AsyncIterable[Event],
    *,
    format: WebSocketFormatter = default_ws_format,
    heartbeat: Heartbeat | None = None,
    on_message: MessageHandler | None = None,
    guard: StreamGuard | None = None,
) -> None:
    """Forward `source` to the accepted `websocket` until either side ends.

    Client messages go to `on_message`; heartbeats run when given. When the client
    leaves, this returns and `source` is closed; when `source` ends (the bus closing),
    the socket is closed with 1001. With a `guard`, the server draining or the
    credential lapsing (re-checked every `guard.interval`) sends one `stream.closed`
    event and closes the socket (1012 on shutdown, 4401 for the credential).
    """
    link = _Link(websocket)
    tasks = {
        asyncio.create_task(_forward(link, source, format), name="ws-forward"),
        asyncio.create_task(_receive(link, heartbeat, on_message), name="ws-receive"),
    }
    if heartbeat is not None:
        tasks.add(asyncio.create_task(_heartbeat(link, heartbeat), name="ws-heartbeat"))
    if guard is not None:
        tasks.add(asyncio.create_task(_guard(link, guard, format), name="ws-guard"))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.shield(close_source(source))
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error


async def _forward(link: _Link, source: AsyncIterable[Event], format: WebSocketFormatter) -> None:
    try:
        async for event in source:
            message = format(event)
            if message is not None:
                await link.send(message)
    except (WebSocketDisconnect, OSError, RuntimeError):
        return  # the client went away mid-send
    await link.close(CLOSE_GOING_AWAY)


async def _receive(
    link: _Link, heartbeat: Heartbeat | None, on_message: MessageHandler | None
) -> None:
    while True:
        message = await link.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        link.last_seen = asyncio.get_running_loop().time()
        text = message.get("text")
        if text is None or (heartbeat is not None and heartbeat.is_pong(text)):
            continue
        if on_message is not None:
            await on_message(text)


async def _guard(link: _Link, guard: StreamGuard, format: WebSocketFormatter) -> None:
    wire, stop = guard.watch()
    try:
        await wire.wait()
    finally:
        stop()
    message = format(closed_event("", wire.reason))
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
        if message is not None:
            await link.send(message)
    shutdown = wire.reason == SERVER_SHUTDOWN
    await link.close(CLOSE_SERVICE_RESTART if shutdown else CLOSE_UNAUTHORIZED)


async def _heartbeat(link: _Link, heartbeat: Heartbeat) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            await asyncio.sleep(heartbeat.interval)
            sent_at = loop.time()
            await link.send(heartbeat.ping())
            await asyncio.sleep(heartbeat.timeout)
            if link.last_seen < sent_at:
                log.info("websocket_heartbeat_timeout")
                await link.close(CLOSE_HEARTBEAT_TIMEOUT)
                return
    except (WebSocketDisconnect, OSError, RuntimeError):
        return
