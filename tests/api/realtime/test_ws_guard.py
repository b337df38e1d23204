"""A guarded WebSocket through a real server (issue 11, items 7 and 13): a credential that
no longer holds at a re-check, or the server draining, sends one `stream.closed` event
and closes the socket (4401, or 1012 for a restart)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from switchboard.api.draining import Draining
from switchboard.api.realtime.guard import StreamGuard
from switchboard.api.realtime.websocket import (
    CLOSE_SERVICE_RESTART,
    CLOSE_UNAUTHORIZED,
    pump_events,
)
from switchboard.core.errors import Unauthenticated
from switchboard.core.events.schemas import Event
from tests.fixtures.threaded_server import ThreadedServer, serve_in_thread


@dataclass
class Guarded:
    server: ThreadedServer
    draining: Draining

    @property
    def url(self) -> str:
        return "ws" + self.server.url.removeprefix("http") + "/ws"


async def _quiet() -> AsyncIterator[Event]:
    await asyncio.Event().wait()  # a topic on which nothing happens
    yield Event(topic="never", type="never")


@pytest.fixture
def guarded() -> Iterator[Guarded]:
    draining = Draining()
    revoked = {"now": False}

    async def recheck() -> None:
        if revoked["now"]:
            raise Unauthenticated("Invalid API key", code="invalid_api_key")

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        if websocket.query_params.get("revoke"):
            revoked["now"] = True
        guard = StreamGuard(draining, recheck, interval=0.1)
        await pump_events(websocket, _quiet(), guard=guard)

    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    with serve_in_thread(app, name="ws-guard") as server:
        yield Guarded(server, draining)


async def _ending(
    url: str, opened: Callable[[], None] = lambda: None
) -> tuple[dict[str, object], int | None]:
    async with connect(url) as ws:
        opened()
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    return message, closed.value.rcvd.code if closed.value.rcvd else None


async def test_a_revoked_credential_closes_the_socket(guarded: Guarded) -> None:
    message, code = await _ending(guarded.url + "?revoke=1")
    assert message["type"] == "stream.closed"
    assert message["data"] == {"reason": "invalid_api_key"}
    assert code == CLOSE_UNAUTHORIZED


async def test_draining_closes_the_socket_for_a_restart(guarded: Guarded) -> None:
    def drain() -> None:  # SIGTERM's handler does the same, on the server's loop
        guarded.server.loop.call_soon_threadsafe(guarded.draining.start)

    message, code = await _ending(guarded.url, opened=drain)
    assert message["type"] == "stream.closed"
    assert message["data"] == {"reason": "server_shutdown"}
    assert code == CLOSE_SERVICE_RESTART
