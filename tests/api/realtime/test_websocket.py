"""WebSocket through a real server with the `websockets` client: authentication by header
and by ?token=, bad tokens refused, heartbeats, events forwarded, cleanup on disconnect."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from switchboard.api.realtime.websocket import CLOSE_HEARTBEAT_TIMEOUT, CLOSE_UNAUTHORIZED
from switchboard.core.events.schemas import Event, user_topic
from tests.api.realtime.conftest import CLOSE_NOT_FOUND, RealtimeServer


async def receive(ws: ClientConnection, skip_pings: bool = True, timeout: float = 3.0) -> Any:
    """The next JSON message (heartbeat pings answered and skipped unless asked for)."""

    async def read() -> Any:
        while True:
            message = json.loads(await ws.recv())
            if not (skip_pings and message.get("type") == "ping"):
                return message
            await ws.send(json.dumps({"type": "pong"}))

    return await asyncio.wait_for(read(), timeout)


async def close_code(ws: ClientConnection, timeout: float = 3.0) -> int | None:
    with pytest.raises(ConnectionClosed) as caught:
        await asyncio.wait_for(receive(ws), timeout)
    return caught.value.rcvd.code if caught.value.rcvd else None


def url(server: RealtimeServer, topic: str, token: str | None = None) -> str:
    query = f"topic={topic}" + (f"&token={token}" if token else "")
    return f"{server.ws_url}/_rt/ws?{query}"


class TestAuthentication:
    async def test_bearer_header(self, realtime_server: RealtimeServer) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        async with connect(url(realtime_server, topic), additional_headers=user.headers) as ws:
            await realtime_server.wait_for_subscribers(topic, 1)
            await realtime_server.publish(Event(topic=topic, type="job.started", data={"a": 1}))
            message = await receive(ws)
            assert (message["type"], message["topic"], message["data"]) == (
                "job.started",
                topic,
                {"a": 1},
            )
        await realtime_server.wait_for_subscribers(topic, 0)

    async def test_query_token(self, realtime_server: RealtimeServer) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        async with connect(url(realtime_server, topic, user.access_token)) as ws:
            await realtime_server.wait_for_subscribers(topic, 1)
            await realtime_server.publish(Event(topic=topic, type="hello"))
            assert (await receive(ws))["type"] == "hello"

    @pytest.mark.parametrize("token", [None, "sb-not-a-real-key", "garbage.jwt.value"])
    async def test_bad_or_missing_token_is_refused(
        self, realtime_server: RealtimeServer, token: str | None
    ) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        async with connect(url(realtime_server, topic, token)) as ws:
            assert await close_code(ws) == CLOSE_UNAUTHORIZED
        await realtime_server.wait_for_subscribers(topic, 0)

    async def test_user_b_cannot_subscribe_to_user_a(self, realtime_server: RealtimeServer) -> None:
        alice, bob = await realtime_server.user(), await realtime_server.user()
        async with connect(
            url(realtime_server, user_topic(alice.id)), additional_headers=bob.headers
        ) as ws:
            assert await close_code(ws) == CLOSE_NOT_FOUND


class TestPump:
    async def test_heartbeat_answered_keeps_the_socket(
        self, realtime_server: RealtimeServer
    ) -> None:
        user = await realtime_server.user()
        async with connect(
            url(realtime_server, user_topic(user.id)), additional_headers=user.headers
        ) as ws:
            for _ in range(3):  # three rounds, each well past interval + timeout
                ping = await receive(ws, skip_pings=False)
                assert ping == {"type": "ping"}
                await ws.send(json.dumps({"type": "pong"}))
            await ws.send("hello")
            assert await receive(ws) == {"type": "echo", "text": "hello"}

    async def test_silent_client_is_dropped(self, realtime_server: RealtimeServer) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        async with connect(url(realtime_server, topic), additional_headers=user.headers) as ws:
            with pytest.raises(ConnectionClosed) as caught:
                await asyncio.wait_for(_drain(ws), 3)
            assert caught.value.rcvd is not None
            assert caught.value.rcvd.code == CLOSE_HEARTBEAT_TIMEOUT
        await realtime_server.wait_for_subscribers(topic, 0)


async def _drain(ws: ClientConnection) -> None:
    while True:
        await ws.recv()
