"""The native face's Socket.IO at `/socket.io/`, mounted through the face registry, and
its event stream's `?token=`, on a real server with real clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import socketio

from switchboard.core.events.schemas import Event, user_topic
from tests.faces.switchboard.conftest import LiveApp
from tests.fixtures.sse import SseReader
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.usefixtures("_empty_tables_after")

Connect = Callable[..., Awaitable[tuple[socketio.AsyncClient, asyncio.Queue[Any]]]]


@pytest.fixture
async def connect(live_app: LiveApp) -> AsyncIterator[Connect]:
    """Connect Socket.IO clients collecting `job.progress` events; disconnected after."""
    clients: list[socketio.AsyncClient] = []

    async def make(
        auth: dict[str, str] | None = None, query: str = ""
    ) -> tuple[socketio.AsyncClient, asyncio.Queue[Any]]:
        client = socketio.AsyncClient(reconnection=False)
        received: asyncio.Queue[Any] = asyncio.Queue()
        client.on("job.progress", received.put)
        clients.append(client)
        await client.connect(
            live_app.url + query, auth=auth, transports=["websocket"], wait_timeout=5
        )
        return client, received

    yield make
    for client in clients:
        await client.disconnect()


async def test_socketio_path_is_socket_io(live_app: LiveApp) -> None:
    # Engine.IO's handshake over polling answers at /socket.io/ (and nowhere deeper).
    async with httpx.AsyncClient(base_url=live_app.url) as client:
        response = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert response.status_code == 200
    assert response.text.startswith("0{")  # an Engine.IO "open" packet


@pytest.mark.parametrize("how", ["auth", "query"])
async def test_token_subscribe_and_receive(live_app: LiveApp, connect: Connect, how: str) -> None:
    user = await live_app.user()
    topic = user_topic(user.id)
    if how == "auth":
        client, received = await connect(auth={"token": user.api_key})
    else:
        client, received = await connect(query=f"?token={user.access_token}")
    ack = await client.call("subscribe", {"topic": topic}, timeout=5)
    assert ack == {"ok": True, "topic": topic}
    await live_app.publish(Event(topic=topic, type="job.progress", data={"progress": 0.5}))
    got = await asyncio.wait_for(received.get(), 5)
    assert (got["topic"], got["type"], got["data"]) == (topic, "job.progress", {"progress": 0.5})


async def test_another_users_topic_is_refused(live_app: LiveApp, connect: Connect) -> None:
    alice, bob = await live_app.user(), await live_app.user()
    client, _ = await connect(auth={"token": bob.api_key})
    ack = await client.call("subscribe", {"topic": user_topic(alice.id)}, timeout=5)
    assert ack["ok"] is False and ack["error"]["code"] == "topic_not_found"


@pytest.mark.parametrize("auth", [None, {"token": "sb-wrong"}, {"token": ""}])
async def test_refused_without_a_valid_token(connect: Connect, auth: dict[str, str] | None) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(auth=auth)


async def test_a_key_without_the_events_scope_is_refused(
    live_app: LiveApp, connect: Connect
) -> None:
    chat_only = await live_app.user(scopes=["chat"])
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(auth={"token": chat_only.api_key})
    events = await live_app.user(scopes=["events"])
    client, _ = await connect(auth={"token": events.api_key})
    assert client.connected


async def test_event_stream_takes_a_query_token(live_app: LiveApp) -> None:
    user = await live_app.user()
    topic = user_topic(user.id)
    url = "/switchboard/v1/events"
    headers = {"Accept": "text/event-stream"}
    async with httpx.AsyncClient(base_url=live_app.url, timeout=5) as client:
        # A plain request never takes a credential from its URL.
        plain = await client.get(url, params={"token": user.api_key})
        assert plain.status_code == 401
        async with client.stream(
            "GET", url, params={"token": user.api_key}, headers=headers
        ) as stream:
            assert stream.status_code == 200
            await eventually(
                lambda: _has_subscriber(live_app, topic), what="the stream's subscription"
            )
            await live_app.publish(Event(topic=topic, type="job.progress", data={"p": 1}))
            event = await SseReader(stream, timeout=5).next()
    assert event.event == "job.progress"


async def _has_subscriber(live_app: LiveApp, topic: str) -> bool:
    async def count() -> int:
        return int(live_app.ctx.bus.subscribers_of(topic))  # type: ignore[attr-defined]

    return await live_app.call(count) > 0
