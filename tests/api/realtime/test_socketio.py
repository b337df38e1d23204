"""Socket.IO through a real server with the python-socketio client: authentication, room
joins allowed and denied, events delivered once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import socketio

from switchboard.core.events.schemas import Event, task_topic, user_topic
from switchboard.kit.ids import new_id
from tests.api.realtime.conftest import SOCKETIO_PATH, RealtimeServer

Connect = Callable[..., Awaitable[tuple[socketio.AsyncClient, asyncio.Queue[Any]]]]


@pytest.fixture
async def sio_connect(realtime_server: RealtimeServer) -> AsyncIterator[Connect]:
    """Connect Socket.IO clients that collect `job.*` events; all disconnected after."""
    clients: list[socketio.AsyncClient] = []

    async def make(
        auth: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[socketio.AsyncClient, asyncio.Queue[Any]]:
        client = socketio.AsyncClient(reconnection=False)
        received: asyncio.Queue[Any] = asyncio.Queue()

        async def on_event(data: Any) -> None:
            await received.put(data)

        client.on("job.progress", on_event)
        clients.append(client)
        await client.connect(
            realtime_server.url,
            auth=auth,
            headers=headers or {},
            transports=["websocket"],
            socketio_path=SOCKETIO_PATH,
            wait_timeout=5,
        )
        return client, received

    yield make
    for client in clients:
        await client.disconnect()


async def fence(server: RealtimeServer, topic: str, received: asyncio.Queue[Any]) -> list[Any]:
    """What the client got before a marker published now on `topic`, which it has joined.

    One forwarder per topic emits in order over the client's one connection, so anything
    that was going to arrive from earlier publishes arrives before the marker.
    """
    marker = {"fence": new_id()}
    await server.publish(Event(topic=topic, type="job.progress", data=marker))
    before: list[Any] = []
    while (got := await asyncio.wait_for(received.get(), 3))["data"] != marker:
        before.append(got)
    return before


class TestSocketIO:
    async def test_auth_join_and_delivery(
        self, realtime_server: RealtimeServer, sio_connect: Connect
    ) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        client, received = await sio_connect(auth={"token": user.api_key})
        ack = await client.call("subscribe", {"topic": topic}, timeout=5)
        assert ack == {"ok": True, "topic": topic}
        await realtime_server.publish(Event(topic=topic, type="job.progress", data={"p": 0.5}))
        got = await asyncio.wait_for(received.get(), 3)
        assert (got["topic"], got["data"]) == (topic, {"p": 0.5})
        assert await fence(realtime_server, topic, received) == []  # exactly once

    async def test_header_auth_and_leave(
        self, realtime_server: RealtimeServer, sio_connect: Connect
    ) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        job = new_id()
        realtime_server.tasks[job] = user.id
        client, received = await sio_connect(
            headers={"Authorization": f"Bearer {user.access_token}"}
        )
        assert (await client.call("subscribe", {"topic": topic}, timeout=5))["ok"] is True
        assert (await client.call("subscribe", {"topic": task_topic(job)}, timeout=5))["ok"]
        await realtime_server.wait_for_subscribers(topic, 1)
        await client.call("unsubscribe", {"topic": topic}, timeout=5)
        await realtime_server.wait_for_subscribers(topic, 0)
        await realtime_server.publish(Event(topic=topic, type="job.progress"))
        # The client still hears its task topic: a marker there arrives, nothing before it.
        assert await fence(realtime_server, task_topic(job), received) == []

    async def test_disconnect_stops_forwarding(
        self, realtime_server: RealtimeServer, sio_connect: Connect
    ) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        client, _ = await sio_connect(auth={"token": user.api_key})
        await client.call("subscribe", {"topic": topic}, timeout=5)
        await realtime_server.wait_for_subscribers(topic, 1)
        await client.disconnect()
        await realtime_server.wait_for_subscribers(topic, 0)

    @pytest.mark.parametrize("auth", [None, {"token": "sb-wrong"}, {"token": ""}])
    async def test_bad_credentials_refused(
        self, realtime_server: RealtimeServer, sio_connect: Connect, auth: dict[str, str] | None
    ) -> None:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio_connect(auth=auth)

    async def test_user_b_cannot_join_user_a_rooms(
        self, realtime_server: RealtimeServer, sio_connect: Connect
    ) -> None:
        alice, bob = await realtime_server.user(), await realtime_server.user()
        job = new_id()
        realtime_server.tasks[job] = alice.id
        client, received = await sio_connect(auth={"token": bob.api_key})
        for topic in (user_topic(alice.id), task_topic(job), "system", "user:*", None):
            ack = await client.call("subscribe", {"topic": topic}, timeout=5)
            assert ack["ok"] is False
            assert ack["error"]["code"] == "topic_not_found", topic
        assert (await client.call("subscribe", {"topic": user_topic(bob.id)}, timeout=5))["ok"]
        await realtime_server.publish(Event(topic=user_topic(alice.id), type="job.progress"))
        assert await fence(realtime_server, user_topic(bob.id), received) == []
        assert await realtime_server.subscribers(user_topic(alice.id)) == 0
        assert await realtime_server.subscribers(task_topic(job)) == 0
