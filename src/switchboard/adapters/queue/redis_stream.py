"""The scaled-out queue: a Redis stream with a consumer group, acknowledged after the job.

A message is acknowledged only once its job has finished (or was found not to need
running), so a worker killed mid-job leaves it pending in the group, and another
worker claims it once it has been idle for the redelivery timeout (XAUTOCLAIM). The
job row's lease decides whether the claimer may run it; the sweeper's reaper covers
the rest. The acknowledgements of the same moment (a stream read's worth of jobs
finishing together) go out as one XACK.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskiq import AckableMessage
from taskiq.acks import AcknowledgeType
from taskiq.exceptions import SendTaskError
from taskiq.receiver import Receiver
from taskiq_redis import RedisStreamBroker

from switchboard.adapters.queue.base import TaskiqJobQueue
from switchboard.kit.batching import Coalescer

log = structlog.get_logger(__name__)

STREAM = "switchboard:jobs"
GROUP = "switchboard-workers"
# How long one XREADGROUP waits for messages: also the longest a stop can wait for it.
READ_BLOCK_SECONDS = 1.0
# How long a stop waits for the acknowledgements of runs that just finished.
ACK_GRACE_SECONDS = 5.0


class ReclaimingStreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, reclaiming idle messages even when no new ones come.

    The upstream `listen` only looks for unacknowledged messages after a read that
    returned something, so an idle worker would never pick up a dead worker's message.
    """

    def __init__(self, url: str, *, reclaim_every: float, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._reclaim_every = reclaim_every
        # Set to end `listen` after its current read (see `RedisJobQueue._stop_receiving`).
        self.stopping = False
        # The acknowledgements of the same moment go out as one XACK.
        self._acks: Coalescer[Any, None] = Coalescer(self._ack_batch)

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:  # type: ignore[override]
        """New messages for this consumer, and idle ones reclaimed from dead consumers."""
        next_reclaim = time.monotonic()
        async with Redis(connection_pool=self.connection_pool) as redis:
            while not self.stopping:
                fetched: Any = await redis.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    block=self.block,
                    noack=False,
                    count=self.count,
                )
                for _stream, messages in fetched or []:
                    for message_id, fields in messages:
                        yield self._ackable(message_id, fields)
                if time.monotonic() >= next_reclaim:
                    next_reclaim = time.monotonic() + self._reclaim_every
                    async for message in self._reclaim(redis):
                        yield message

    async def _reclaim(self, redis: Redis) -> AsyncGenerator[AckableMessage, None]:
        # XAUTOCLAIM is atomic: two workers never both receive the same idle message.
        claimed: Any = await redis.xautoclaim(
            self.queue_name,
            self.consumer_group_name,
            self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        for message_id, fields in claimed[1]:
            if fields:  # None when the stream was trimmed past it
                log.info("job_message_reclaimed", message_id=_text(message_id))
                yield self._ackable(message_id, fields)

    def _ackable(self, message_id: Any, fields: Any) -> AckableMessage:
        async def ack() -> None:
            await self._acks.submit(message_id)

        return AckableMessage(data=fields[b"data"], ack=ack)

    async def _ack_batch(self, message_ids: list[Any]) -> list[None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            await redis.xack(self.queue_name, self.consumer_group_name, *message_ids)
        return [None] * len(message_ids)


class RedisJobQueue(TaskiqJobQueue):
    """Jobs sent to a Redis stream and run by `switchboard worker` processes."""

    transport_errors = (RedisError, OSError, SendTaskError)

    def __init__(
        self,
        url: str,
        *,
        concurrency: int = 16,
        grace_seconds: float = 10.0,
        max_delay_seconds: float = 3600.0,
        redelivery_seconds: float = 60.0,
        stream: str = STREAM,
        max_length: int = 100_000,
    ) -> None:
        broker = ReclaimingStreamBroker(
            url,
            reclaim_every=max(redelivery_seconds / 2, 0.2),
            queue_name=stream,
            consumer_group_name=GROUP,
            # "0": a group created after messages were sent (the API started before
            # any worker) still delivers them.
            consumer_id="0",
            idle_timeout=int(redelivery_seconds * 1000),
            xread_block=int(READ_BLOCK_SECONDS * 1000),
            # Fetch no more than this worker can start: the rest stay for others.
            xread_count=concurrency,
            maxlen=max_length,
            max_connection_pool_size=concurrency + 8,
            # Never wait forever on a Redis that accepts and then says nothing; the read
            # timeout stays above the blocking XREADGROUP's one second.
            socket_connect_timeout=2.0,
            socket_timeout=10.0,
            socket_keepalive=True,
        )
        super().__init__(
            broker,
            concurrency=concurrency,
            grace_seconds=grace_seconds,
            max_delay_seconds=max_delay_seconds,
        )
        self._stream = stream
        self._consumer: asyncio.Task[None] | None = None
        self._fetch_slots = asyncio.Semaphore(concurrency)
        self._callbacks: set[asyncio.Task[None]] = set()

    async def depth(self) -> int | None:
        """Messages in the stream not yet delivered to any worker."""
        try:
            async with Redis(connection_pool=self._redis_pool()) as redis:
                groups: Any = await redis.xinfo_groups(self._stream)
        except self.transport_errors:
            return None
        for group in groups:
            name = group.get("name")
            if name in (GROUP, GROUP.encode()):
                lag = group.get("lag")
                return int(lag) if lag is not None else None
        return 0

    async def ping(self) -> None:
        """Raise `ConnectionError` when Redis does not answer."""
        try:
            async with Redis(connection_pool=self._redis_pool()) as redis:
                await redis.ping()
        except self.transport_errors as exc:
            raise ConnectionError("job queue unreachable") from exc

    async def _probe(self) -> None:
        await self.ping()

    async def _connect(self) -> None:
        # Redis may be away at start-up: the server stays up and sends fail softly
        # (logged) until it is back; the worker's consumer loop keeps trying.
        try:
            await self.broker.startup()
        except self.transport_errors as exc:
            log.warning("job_queue_unreachable", error=type(exc).__name__)

    async def _start_receiving(self) -> None:
        self.broker.is_worker_process = True
        self._stream_broker().stopping = False
        self._consumer = asyncio.create_task(self._consume(), name="job-consumer")

    async def _stop_receiving(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        # A cancellation that lands inside the Redis client's read can be swallowed (seen
        # with redis-py 8 on Python 3.11: the consumer then waited forever and so did
        # shutdown). The flag ends the loop after its current read anyway, and the wait is
        # bounded either way.
        self._stream_broker().stopping = True
        consumer.cancel()
        done, _ = await asyncio.wait({consumer}, timeout=READ_BLOCK_SECONDS + 1.0)
        if not done:
            log.warning("job_consumer_stuck_at_stop")

    async def _consume(self) -> None:
        receiver = Receiver(
            self.broker,
            max_async_tasks=self.concurrency,
            run_startup=False,
            ack_type=AcknowledgeType.WHEN_EXECUTED,
        )
        pause = 0.5
        while not self._stream_broker().stopping:
            try:
                await self.broker.startup()
                async for message in self.broker.listen():
                    await self._fetch_slots.acquire()
                    self._spawn(receiver, message)
                    pause = 0.5
            except self.transport_errors as exc:
                log.warning("job_queue_unreachable", error=type(exc).__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)

    async def _settle_deliveries(self) -> None:
        # A delivery acknowledges its message after the run: unless that XACK lands before
        # the pool closes, the message is redelivered and the XACK opens a connection that
        # is never closed.
        if self._callbacks:
            await asyncio.wait(set(self._callbacks), timeout=ACK_GRACE_SECONDS)

    def _spawn(self, receiver: Receiver, message: bytes | AckableMessage) -> None:
        callback = asyncio.create_task(receiver.callback(message))
        self._callbacks.add(callback)

        def done(task: asyncio.Task[None]) -> None:
            self._callbacks.discard(task)
            self._fetch_slots.release()
            # The job ran; only the acknowledgement can fail here (Redis went away).
            # The message is then redelivered and its claim finds the job finished.
            if not task.cancelled() and task.exception() is not None:
                log.warning("job_ack_failed", error=type(task.exception()).__name__)

        callback.add_done_callback(done)

    def _stream_broker(self) -> ReclaimingStreamBroker:
        broker: ReclaimingStreamBroker = self.broker  # type: ignore[assignment]
        return broker

    def _redis_pool(self) -> Any:
        return self._stream_broker().connection_pool


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
