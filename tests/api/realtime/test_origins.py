"""Socket handshakes and SWITCHBOARD_CORS_ORIGINS (issue 12, item 1), on a real server with
real clients: a WebSocket (a face's route) and the app's Socket.IO, over both of its
transports. A listed origin, the server's own and no `Origin` at all (not a browser) get
in; any other origin is refused before the socket opens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import socketio
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from switchboard.bootstrap import build_context
from switchboard.core.events.schemas import user_topic
from tests.api.realtime.conftest import RealtimeServer, build_app
from tests.fixtures.app import User, make_settings
from tests.fixtures.threaded_server import serve_in_thread

ALLOWED = "https://chat.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, migrated_url: str) -> Iterator[RealtimeServer]:
    """The realtime test app (its /_rt/ws route and the native face's /socket.io/) with
    one listed origin."""
    data_dir: Path = tmp_path_factory.mktemp("origins")
    settings = make_settings(data_dir, migrated_url, cors_origins=[ALLOWED])
    ctx = build_context(settings)
    tasks: dict[str, str] = {}
    app, hub = build_app(ctx, settings, tasks)
    with serve_in_thread(app, name="origins-server", after=hub.aclose) as running:
        yield RealtimeServer(running.url, ctx, hub, running.loop, tasks)


def origins(server: RealtimeServer) -> list[str | None]:
    """The origins that get in: listed, the server's own, none."""
    return [ALLOWED, server.url, None]


async def test_websocket_from_an_allowed_origin_opens(server: RealtimeServer) -> None:
    user = await server.user()
    topic = user_topic(user.id)
    for origin in origins(server):
        url = f"{server.ws_url}/_rt/ws?topic={topic}&token={user.api_key}"
        async with connect(url, origin=origin) as ws:  # type: ignore[arg-type]
            await server.wait_for_subscribers(topic, 1)
            await ws.close()
        await server.wait_for_subscribers(topic, 0)


async def test_websocket_from_another_origin_is_refused(server: RealtimeServer) -> None:
    user = await server.user()
    url = f"{server.ws_url}/_rt/ws?topic={user_topic(user.id)}&token={user.api_key}"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin=OTHER):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403


Connect = Callable[[User, str | None, str], Awaitable[socketio.AsyncClient]]


@pytest.fixture
async def sio_connect(server: RealtimeServer) -> AsyncIterator[Connect]:
    """Connect Socket.IO clients to the app's own /socket.io/; disconnected after."""
    clients: list[socketio.AsyncClient] = []

    async def make(user: User, origin: str | None, transport: str) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        clients.append(client)
        await client.connect(
            server.url,
            headers={"Origin": origin} if origin else {},
            auth={"token": user.api_key},
            transports=[transport],
            wait_timeout=5,
        )
        return client

    yield make
    for client in clients:
        await client.disconnect()


async def test_socketio_from_allowed_origins_connects(
    server: RealtimeServer, sio_connect: Connect
) -> None:
    user = await server.user()
    for origin in origins(server):
        client = await sio_connect(user, origin, "websocket")
        assert client.connected, origin


async def test_socketio_from_another_origin_is_refused(
    server: RealtimeServer, sio_connect: Connect
) -> None:
    user = await server.user()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio_connect(user, OTHER, "websocket")


async def test_socketio_polling_handshake_follows_the_same_rule(server: RealtimeServer) -> None:
    # Engine.IO's own handshake, where the polling transport checks the origin. (The
    # python-socketio client is not used over polling: its disconnect waits out a poll.)
    params = {"EIO": "4", "transport": "polling"}
    async with httpx.AsyncClient(base_url=server.url) as client:
        allowed = await client.get("/socket.io/", params=params, headers={"Origin": ALLOWED})
        own = await client.get("/socket.io/", params=params, headers={"Origin": server.url})
        other = await client.get("/socket.io/", params=params, headers={"Origin": OTHER})
    assert (allowed.status_code, own.status_code) == (200, 200)
    assert allowed.text.startswith("0{")  # an Engine.IO "open" packet
    # One Access-Control-Allow-Origin (engineio's and the middleware's used to add two).
    assert allowed.headers.get_list("access-control-allow-origin") == [ALLOWED]
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
