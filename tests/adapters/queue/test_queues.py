"""taskiq queues: the in-memory broker always, the Redis stream broker when Redis answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from switchboard.adapters.queue.memory import InMemoryJobQueue
from switchboard.adapters.queue.redis_stream import GROUP, ReclaimingStreamBroker, RedisJobQueue
from switchboard.kit.ids import new_id
from tests.fixtures.database import available_redis_url
from tests.fixtures.network import refusing_port

REDIS_URL = available_redis_url()
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")


class Recorder:
    """A `run` callback that records ids, optionally holding each run open."""

    def __init__(self, hold: float = 0.0) -> None:
        self.ids: list[str] = []
        self.at: dict[str, float] = {}
        self.hold = hold
        self.active = 0
        self.peak = 0
        self.cancelled: list[str] = []

    async def __call__(self, job_id: str) -> None:
        self.ids.append(job_id)
        self.at[job_id] = time.monotonic()
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.hold)
        except asyncio.CancelledError:
            self.cancelled.append(job_id)
            raise
        finally:
            self.active -= 1


async def eventually(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


class TestInMemory:
    async def test_round_trip(self) -> None:
        queue = InMemoryJobQueue(concurrency=4)
        run = Recorder()
        await queue.start(run)
        sent = time.monotonic()
        await queue.enqueue("job-1")
        await eventually(lambda: run.ids == ["job-1"])
        assert run.at["job-1"] - sent < 0.05
        await queue.stop()

    async def test_delay(self) -> None:
        queue = InMemoryJobQueue()
        run = Recorder()
        await queue.start(run)
        sent = time.monotonic()
        await queue.enqueue("later", delay=0.2)
        await asyncio.sleep(0.1)
        assert run.ids == []
        await eventually(lambda: run.ids == ["later"])
        assert run.at["later"] - sent >= 0.19
        await queue.stop()

    async def test_concurrency_limit_and_waiting_dedupe(self) -> None:
        queue = InMemoryJobQueue(concurrency=2)
        run = Recorder(hold=0.1)
        await queue.start(run)
        for i in range(5):
            await queue.enqueue(f"j{i}")
        await queue.enqueue("j4")  # still waiting for a slot: not sent twice
        assert await queue.depth() == 5
        await eventually(lambda: len(run.ids) == 5)
        await eventually(lambda: run.active == 0)
        assert run.peak == 2 and sorted(run.ids) == [f"j{i}" for i in range(5)]
        await queue.stop()

    async def test_nothing_is_sent_without_a_consumer(self) -> None:
        queue = InMemoryJobQueue()
        await queue.enqueue("before-start")
        await queue.start(None)
        await queue.enqueue("no-consumer")
        await queue.stop()

    async def test_stop_waits_for_grace_then_cancels(self) -> None:
        queue = InMemoryJobQueue(grace_seconds=0.1)
        run = Recorder(hold=30)
        await queue.start(run)
        await queue.enqueue("long")
        await queue.enqueue("delayed", delay=0.5)
        await eventually(lambda: run.active == 1)
        started = time.monotonic()
        await queue.stop()
        assert time.monotonic() - started < 1
        assert run.cancelled == ["long"]
        await asyncio.sleep(0.6)
        assert run.ids == ["long"]


@pytest.fixture
async def redis_queues() -> AsyncIterator[Callable[..., RedisJobQueue]]:
    """Queues on one fresh stream (each one a 'process'); stopped and removed after."""
    assert REDIS_URL is not None
    stream = f"switchboard:test-jobs:{new_id()}"
    made: list[RedisJobQueue] = []

    def make(**options: object) -> RedisJobQueue:
        queue = RedisJobQueue(REDIS_URL, stream=stream, **options)  # type: ignore[arg-type]
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.stop()
    async with Redis.from_url(REDIS_URL) as redis:
        await redis.delete(stream)


@needs_redis
class TestRedisStream:
    async def test_round_trip_and_acknowledgement(
        self, redis_queues: Callable[..., RedisJobQueue]
    ) -> None:
        producer = redis_queues()
        consumer = redis_queues(concurrency=4)
        run = Recorder()
        await producer.start(None)
        await consumer.start(run)
        sent = time.monotonic()
        await producer.enqueue("job-a")
        await eventually(lambda: run.ids == ["job-a"])
        assert run.at["job-a"] - sent < 0.5
        await eventually(lambda: run.active == 0)
        assert REDIS_URL is not None
        async with Redis.from_url(REDIS_URL) as redis:

            async def unacked() -> int:
                info = await redis.xpending(producer._stream, GROUP)
                return int(info["pending"])

            deadline = time.monotonic() + 2
            while await unacked() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert await unacked() == 0

    async def test_a_burst_is_acknowledged_in_batches(
        self, redis_queues: Callable[..., RedisJobQueue], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        producer = redis_queues()
        consumer = redis_queues(concurrency=8)
        await producer.start(None)
        for n in range(20):
            await producer.enqueue(f"burst-{n}")
        broker: ReclaimingStreamBroker = consumer.broker  # type: ignore[assignment]
        batches: list[int] = []
        ack_batch = broker._ack_batch

        async def counting(message_ids: list[Any]) -> list[None]:
            batches.append(len(message_ids))
            return await ack_batch(message_ids)

        monkeypatch.setattr(broker._acks, "_flush", counting)
        run = Recorder()
        await consumer.start(run)
        await eventually(lambda: len(run.ids) == 20 and sum(batches) == 20)
        assert sorted(run.ids) == sorted(f"burst-{n}" for n in range(20))
        assert len(batches) < 20  # a stream read's deliveries share one XACK
        assert REDIS_URL is not None
        async with Redis.from_url(REDIS_URL) as redis:
            info = await redis.xpending(producer._stream, GROUP)
            assert int(info["pending"]) == 0

    async def test_sent_before_any_worker_is_still_delivered(
        self, redis_queues: Callable[..., RedisJobQueue]
    ) -> None:
        producer = redis_queues()
        await producer.start(None)
        for i in range(3):
            await producer.enqueue(f"early-{i}")
        assert await producer.depth() == 3
        run = Recorder()
        await redis_queues().start(run)
        await eventually(lambda: len(run.ids) == 3)
        assert sorted(run.ids) == ["early-0", "early-1", "early-2"]

    async def test_unacknowledged_message_is_redelivered(
        self, redis_queues: Callable[..., RedisJobQueue]
    ) -> None:
        # A worker that received a message and died never acknowledges it.
        dead = redis_queues(redelivery_seconds=0.3)
        await dead.start(None)
        await dead.enqueue("orphan")
        listener = dead.broker.listen()
        message = await anext(listener)  # received, never acknowledged
        assert b"orphan" in message.data
        await listener.aclose()
        survivor = redis_queues(redelivery_seconds=0.3)
        run = Recorder()
        await survivor.start(run)
        await eventually(lambda: run.ids == ["orphan"], timeout=5)

    async def test_delayed_send(self, redis_queues: Callable[..., RedisJobQueue]) -> None:
        queue = redis_queues()
        run = Recorder()
        await queue.start(run)
        sent = time.monotonic()
        await queue.enqueue("later", delay=0.3)
        await eventually(lambda: run.ids == ["later"])
        assert run.at["later"] - sent >= 0.29

    async def test_redis_away_is_soft(self) -> None:
        # Nothing answers: sends are logged, never raised into the request.
        with refusing_port() as port:
            queue = RedisJobQueue(f"redis://127.0.0.1:{port}/0")
            await queue.start(None)
            await queue.enqueue("lost")
            assert await queue.depth() is None
            with pytest.raises(ConnectionError):
                await queue.ping()
            await queue.stop()
