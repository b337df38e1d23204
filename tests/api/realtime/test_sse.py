"""SSE through a real server: keep-alive comments, events, disconnect frees the
subscription, and no one reads someone else's topic."""

from __future__ import annotations

import httpx

from switchboard.core.events.schemas import Event, task_topic, user_topic
from switchboard.kit.ids import new_id
from tests.api.realtime.conftest import RealtimeServer
from tests.fixtures.sse import SseReader


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
            events = SseReader(r)
            assert (await events.next()).event == "connected"
            assert (await events.next(comment=True)).comment == "keepalive"
            await realtime_server.publish(Event(topic=topic, type="job.progress", data={"p": 1}))
            progress = await events.next()
            assert progress.event == "job.progress"
            body = progress.json()
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
            await SseReader(r).next("connected")
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
            events = SseReader(r)
            await events.next("connected")
            await realtime_server.publish(Event(topic=task_topic(job), type="job.completed"))
            assert (await events.next()).event == "job.completed"


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
            events = SseReader(r)
            await events.next("connected")
            await realtime_server.publish(Event(topic="system", type="system.notice"))
            assert (await events.next()).event == "system.notice"
