"""taskiq queues: the in-memory broker always, the Redis stream broker when Redis answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from taskiq import AckableMessage

from switchboard.adapters.queue.base import TaskiqJobQueue
from switchboard.adapters.queue.memory import InMemoryJobQueue
from switchboard.adapters.queue.redis_stream import GROUP, ReclaimingStreamBroker, RedisJobQueue
from switchboard.kit.ids import new_id
from tests.fixtures.database import available_redis_url
from tests.fixtures.network import refusing_port
from tests.fixtures.waiting import eventually, yield_to_loop

REDIS_URL = available_redis_url()
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")


class Recorder:
    """A `run` callback that records ids; with a `gate`, each run holds its slot until
    the gate opens (or until it is cancelled)."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.ids: list[str] = []
        self.at: dict[str, float] = {}
        self.gate = gate
        self.active = 0
        self.peak = 0
        self.cancelled: list[str] = []

    async def __call__(self, job_id: str) -> None:
        self.ids.append(job_id)
        self.at[job_id] = time.monotonic()
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.gate is not None:
                await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled.append(job_id)
            raise
        finally:
            self.active -= 1


class Timers:
    """A queue's delayed sends, caught instead of scheduled: the test fires them itself."""

    def __init__(self, queue: TaskiqJobQueue, monkeypatch: pytest.MonkeyPatch) -> None:
        self.delays: dict[str, float] = {}
        self._handles: dict[str, tuple[asyncio.TimerHandle, Callable[..., object]]] = {}
        loop = asyncio.get_running_loop()
        real = loop.call_later

        def call_later(delay: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
            if callback != queue._send_later:
                return real(delay, callback, *args, **kwargs)
            # Never scheduled: it fires when the test says, however long the delay.
            handle = asyncio.TimerHandle(loop.time() + delay, callback, args, loop)
            self.delays[args[0]] = delay
            self._handles[args[0]] = (handle, callback)
            return handle

        monkeypatch.setattr(loop, "call_later", call_later)

    def cancelled(self, job_id: str) -> bool:
        """True once the queue cancelled the timer of `job_id`."""
        return self._handles[job_id][0].cancelled()

    def fire(self, job_id: str) -> None:
        """Run the timer of `job_id` now, as the loop would once its delay is over."""
        self._handles[job_id][1](job_id)


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

    async def test_delay(self, monkeypatch: pytest.MonkeyPatch) -> None:
        queue = InMemoryJobQueue()
        timers = Timers(queue, monkeypatch)
        run = Recorder()
        await queue.start(run)
        await queue.enqueue("later", delay=0.2)
        assert timers.delays == {"later": 0.2}
        await yield_to_loop()
        assert run.ids == []
        timers.fire("later")
        await eventually(lambda: run.ids == ["later"])
        await queue.stop()

    async def test_concurrency_limit_and_waiting_dedupe(self) -> None:
        queue = InMemoryJobQueue(concurrency=2)
        gate = asyncio.Event()
        run = Recorder(gate)
        await queue.start(run)
        for i in range(5):
            await queue.enqueue(f"j{i}")
        await queue.enqueue("j4")  # still waiting for a slot: not sent twice
        assert await queue.depth() == 5
        await eventually(lambda: run.active == 2)
        await yield_to_loop()
        assert len(run.ids) == 2  # the others wait for a free slot
        gate.set()
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

    async def test_stop_waits_for_grace_then_cancels(self, monkeypatch: pytest.MonkeyPatch) -> None:
        queue = InMemoryJobQueue(grace_seconds=0.1)
        timers = Timers(queue, monkeypatch)
        run = Recorder(asyncio.Event())  # never opened: the run holds until cancelled
        await queue.start(run)
        await queue.enqueue("long")
        await queue.enqueue("delayed", delay=0.5)
        await eventually(lambda: run.active == 1)
        started = time.monotonic()
        await queue.stop()
        assert time.monotonic() - started < 1
        assert run.cancelled == ["long"]
        assert timers.cancelled("delayed")
        timers.fire("delayed")  # even a timer that fired anyway sends nothing now
        await yield_to_loop()
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

            async def acknowledged() -> bool:
                return await unacked() == 0

            await eventually(acknowledged, timeout=2)

    async def test_stop_waits_for_the_acknowledgements_of_finished_runs(
        self, redis_queues: Callable[..., RedisJobQueue], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        producer = redis_queues()
        consumer = redis_queues(concurrency=4)
        broker: ReclaimingStreamBroker = consumer.broker  # type: ignore[assignment]
        order: list[str] = []
        ack_batch, disconnect = broker._ack_batch, broker.connection_pool.disconnect

        async def acknowledging(message_ids: list[Any]) -> list[None]:
            done = await ack_batch(message_ids)
            order.append("acknowledged")
            return done

        async def disconnecting(**options: Any) -> None:
            order.append("disconnected")
            await disconnect(**options)

        monkeypatch.setattr(broker._acks, "_flush", acknowledging)
        monkeypatch.setattr(broker.connection_pool, "disconnect", disconnecting)
        gate = asyncio.Event()
        run = Recorder(gate)
        await producer.start(None)
        await consumer.start(run)
        for n in range(4):
            await producer.enqueue(f"stop-{n}")
        await eventually(lambda: run.active == 4)
        receiving = consumer._consumer
        assert receiving is not None
        stopping = asyncio.create_task(consumer.stop())
        await eventually(receiving.done)
        gate.set()  # the runs end while the stop waits for them; their XACKs follow
        await stopping
        # Unless the XACK went first, it would open a connection the stop never closes.
        assert order == ["acknowledged", "disconnected"]

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
        assert isinstance(message, AckableMessage) and b"orphan" in message.data
        await listener.aclose()
        survivor = redis_queues(redelivery_seconds=0.3)
        run = Recorder()
        await survivor.start(run)
        # Real time: the message must sit idle past the timeout by the Redis server's clock.
        await eventually(lambda: run.ids == ["orphan"], timeout=5)

    async def test_delayed_send(
        self, redis_queues: Callable[..., RedisJobQueue], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        queue = redis_queues()
        timers = Timers(queue, monkeypatch)
        run = Recorder()
        await queue.start(run)
        await queue.enqueue("later", delay=0.3)
        assert timers.delays == {"later": 0.3}
        assert await queue.depth() == 0  # nothing sent before the timer fires
        timers.fire("later")
        await eventually(lambda: run.ids == ["later"])

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
