"""SSE through a real server: keep-alive comments, events, disconnect frees the
subscription, and no one reads someone else's topic."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx

from switchboard.core.events.schemas import Event, task_topic, user_topic
from switchboard.kit.ids import new_id
from tests.api.realtime.conftest import RealtimeServer


async def next_line(lines: AsyncIterator[str], prefix: str, timeout: float = 3.0) -> str:
    """The next line starting with `prefix`, skipping the others (bounded in time)."""

    async def find() -> str:
        async for line in lines:
            if line.startswith(prefix):
                return line
        raise AssertionError(f"stream ended before {prefix!r}")

    return await asyncio.wait_for(find(), timeout)


class TestEventStream:
    async def test_preamble_keepalive_and_events(self, realtime_server: RealtimeServer) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        async with (
            httpx.AsyncClient(base_url=realtime_server.url, timeout=5) as client,
            client.stream("GET", "/_rt/events", params={"topic": topic}, headers=user.headers) as r,
        ):
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = r.aiter_lines()
            assert await next_line(lines, "event:") == "event: connected"
            assert await next_line(lines, ":") == ": keepalive"
            await realtime_server.publish(Event(topic=topic, type="job.progress", data={"p": 1}))
            assert await next_line(lines, "event:") == "event: job.progress"
            body = json.loads((await next_line(lines, "data:")).removeprefix("data: "))
            assert body["topic"] == topic and body["data"] == {"p": 1}
            assert body["at"].endswith("Z")

    async def test_disconnect_frees_the_subscription(self, realtime_server: RealtimeServer) -> None:
        user = await realtime_server.user()
        topic = user_topic(user.id)
        async with (
            httpx.AsyncClient(base_url=realtime_server.url, timeout=5) as client,
            client.stream(
                "GET", "/_rt/events", params={"topic": user_topic(user.id)}, headers=user.headers
            ) as r,
        ):
            await next_line(r.aiter_lines(), "event: connected")
            assert await realtime_server.subscribers(topic) == 1
        await realtime_server.wait_for_subscribers(topic, 0)

    async def test_owner_reads_task_topic(self, realtime_server: RealtimeServer) -> None:
        user = await realtime_server.user()
        job = new_id()
        realtime_server.tasks[job] = user.id
        async with (
            httpx.AsyncClient(base_url=realtime_server.url, timeout=5) as client,
            client.stream(
                "GET", "/_rt/events", params={"topic": task_topic(job)}, headers=user.headers
            ) as r,
        ):
            lines = r.aiter_lines()
            await next_line(lines, "event: connected")
            await realtime_server.publish(Event(topic=task_topic(job), type="job.completed"))
            assert await next_line(lines, "event:") == "event: job.completed"


class TestAuthorization:
    async def test_user_b_cannot_read_user_a_topics(self, realtime_server: RealtimeServer) -> None:
        alice, bob = await realtime_server.user(), await realtime_server.user()
        job = new_id()
        realtime_server.tasks[job] = alice.id
        async with httpx.AsyncClient(base_url=realtime_server.url, timeout=5) as client:
            for topic in (user_topic(alice.id), task_topic(job), task_topic(new_id()), "system"):
                r = await client.get("/_rt/events", params={"topic": topic}, headers=bob.headers)
                assert r.status_code == 404, topic
            r = await client.get("/_rt/events", params={"topic": user_topic(alice.id)})
            assert r.status_code == 401
        assert await realtime_server.subscribers(user_topic(alice.id)) == 0

    async def test_admin_reads_system(self, realtime_server: RealtimeServer) -> None:
        admin = await realtime_server.user(admin=True)
        async with (
            httpx.AsyncClient(base_url=realtime_server.url, timeout=5) as client,
            client.stream(
                "GET", "/_rt/events", params={"topic": "system"}, headers=admin.token_headers
            ) as r,
        ):
            assert r.status_code == 200
            lines = r.aiter_lines()
            await next_line(lines, "event: connected")
            await realtime_server.publish(Event(topic="system", type="system.notice"))
            assert await next_line(lines, "event:") == "event: system.notice"
