"""The Redis bus across replicas, and when Redis goes away."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from switchboard.adapters.bus.redis import RedisBus
from switchboard.core.errors import ServiceUnavailable
from switchboard.core.events.errors import BusUnavailable
from switchboard.core.events.schemas import GAP_TYPE, Event
from tests.adapters.bus.conftest import PREFIX, REDIS_URL, needs_redis
from tests.fixtures.waiting import eventually

pytestmark = needs_redis
MakeBus = Callable[..., RedisBus]


def dead_url() -> str:
    """A Redis URL on a loopback port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


async def numsub(channel: str) -> int:
    client = Redis.from_url(REDIS_URL or "")
    try:
        result = await client.pubsub_numsub(channel)
        return int(result[0][1])
    finally:
        await client.aclose()


class TestAcrossReplicas:
    async def test_published_on_one_replica_received_on_another(self, redis_buses: MakeBus) -> None:
        one, two = redis_buses(), redis_buses()
        sub = await two.subscribe(["task:j1"])
        await one.publish(Event(topic="task:j1", type="job.progress", data={"progress": 0.5}))
        got = await asyncio.wait_for(anext(sub), 2)
        assert (got.topic, got.type, got.data) == ("task:j1", "job.progress", {"progress": 0.5})
        await sub.close()

    async def test_many_events_arrive_in_order(self, redis_buses: MakeBus) -> None:
        # How fast they arrive is measured by bench/jobs, not asserted here.
        one, two = redis_buses(), redis_buses()
        sub = await two.subscribe(["user:lat"])
        for n in range(100):
            await one.publish(Event(topic="user:lat", type="n", data={"n": n}))
            assert (await asyncio.wait_for(anext(sub), 2)).data["n"] == n
        await sub.close()

    async def test_a_batch_published_on_one_replica_arrives_on_another(
        self, redis_buses: MakeBus
    ) -> None:
        one, two = redis_buses(), redis_buses()
        sub = await two.subscribe(["task:b1", "user:b1"])
        await one.publish_many(
            [Event(topic=t, type="n", data={"n": n}) for n in range(50) for t in sub.topics]
        )
        got = [await asyncio.wait_for(anext(sub), 2) for _ in range(100)]
        for topic in sub.topics:
            assert [e.data["n"] for e in got if e.topic == topic] == list(range(50))
        await sub.close()

    async def test_one_channel_per_topic_per_process_refcounted(self, redis_buses: MakeBus) -> None:
        bus = redis_buses()
        channel = PREFIX + "user:rc"
        subs = [await bus.subscribe(["user:rc"]) for _ in range(5)]
        assert await numsub(channel) == 1
        for sub in subs[:4]:
            await sub.close()
        assert await numsub(channel) == 1
        await subs[4].close()
        assert await numsub(channel) == 0


class TestRedisGone:
    async def test_publish_subscribe_and_ping_fail_as_core_errors(self) -> None:
        bus = RedisBus(dead_url(), subscribe_timeout=0.3, connect_timeout=0.3)
        try:
            with pytest.raises(BusUnavailable) as caught:
                await bus.publish(Event(topic="user:a", type="x"))
            assert isinstance(caught.value, ServiceUnavailable)
            assert caught.value.retry_after is not None
            with pytest.raises(BusUnavailable):
                await bus.publish_many([Event(topic="user:a", type="x")] * 2)
            with pytest.raises(BusUnavailable):
                await bus.subscribe(["user:a"])
            assert bus.subscriber_count == 0
            with pytest.raises(ConnectionError):
                await bus.ping()
        finally:
            await bus.aclose()

    async def test_listener_reconnects_and_marks_a_gap(self, redis_buses: MakeBus) -> None:
        bus, other = redis_buses(backoff=(0.02, 0.1)), redis_buses()
        sub = await bus.subscribe(["user:drop"])
        admin = Redis.from_url(REDIS_URL or "")
        try:
            ours = [c for c in await admin.client_list() if c["name"] == bus.listener_name]
            assert len(ours) == 1
            await admin.execute_command("CLIENT", "KILL", "ID", ours[0]["id"])  # type: ignore[no-untyped-call]
        finally:
            await admin.aclose()
        gap = await asyncio.wait_for(anext(sub), 3)
        assert gap.type == GAP_TYPE and gap.data["reason"] == "reconnect"

        # Once resubscribed, events flow again: publish until one gets through (what
        # else is queued meanwhile is the reconnect's own gap marker).
        async def delivered() -> bool:
            await other.publish(Event(topic="user:drop", type="again"))
            while len(sub):
                if (await anext(sub)).type == "again":
                    return True
            return False

        await eventually(delivered, what="events after the reconnect")
        await bus.ping()
        await sub.close()
