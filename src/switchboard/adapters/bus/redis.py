"""The Redis bus: pub/sub across replicas, one listening connection per process.

Every process holds one pub/sub connection, subscribed to the channels its local
subscribers need (reference-counted: the first local subscriber of a topic subscribes
the channel, the last one to leave unsubscribes it) and fans each message out to local
queues. Publishing uses a small pool of ordinary connections. When Redis drops, the
listener reconnects with capped exponential backoff, subscribes again and gives every
local subscriber a `bus.gap` marker, since events published meanwhile are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import Sequence
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError

from switchboard.adapters.bus.codec import decode_event, encode_event
from switchboard.adapters.bus.local import (
    RECONNECT,
    BoundedSubscription,
    LocalFanout,
    checked_topics,
)
from switchboard.core.events.errors import BusUnavailable
from switchboard.core.events.schemas import Event, parse_topic

log = structlog.get_logger(__name__)

# The Redis namespace (SWITCHBOARD_REDIS_PREFIX) when none is given; channels are
# "<namespace>:events:<topic>".
DEFAULT_NAMESPACE = "switchboard"
DEFAULT_PREFIX = f"{DEFAULT_NAMESPACE}:events:"
# What a refused subscription tells the client: the listener retries within seconds.
RETRY_AFTER_SECONDS = 5.0
# Subscribed from the start so the listening connection exists before any topic is.
_CONTROL = "_listener"


class RedisBus:
    """An `EventBus` over Redis pub/sub, shared by every replica using the same URL and
    namespace. Pub/sub channels ignore Redis database numbers: deployments sharing one
    Redis are kept apart by their namespace alone."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        prefix: str | None = None,
        subscribe_timeout: float = 3.0,
        connect_timeout: float = 2.0,
        backoff: tuple[float, float] = (0.05, 5.0),
        poll_seconds: float = 1.0,
    ) -> None:
        # What else of this deployment lives on Redis names itself under it too (the
        # Socket.IO manager's channel). `prefix` overrides the channels' own prefix.
        self.namespace = namespace
        self._prefix = prefix if prefix is not None else f"{namespace}:events:"
        self._subscribe_timeout = subscribe_timeout
        self._backoff = backoff
        self._poll = poll_seconds
        # One retry lets a publish ride over a pooled connection Redis closed earlier.
        self._client: Redis = Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=5.0,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
        )
        # Named, so an operator (or a test) can find this process's listening connection.
        self.listener_name = f"switchboard-events-{secrets.token_hex(4)}"
        # No silent retries on the listening connection: a drop must reach the listener,
        # which resubscribes and tells subscribers about the gap.
        self._listen_client: Redis = Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=5.0,
            health_check_interval=10,
            retry=Retry(NoBackoff(), 0),
            client_name=self.listener_name,
        )
        self._fanout = LocalFanout()
        self._lock = asyncio.Lock()
        self._pubsub: PubSub | None = None
        self._confirmed: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        # Set while the listener cannot reach Redis: subscribing then fails at once
        # instead of waiting out the subscribe timeout for a confirmation.
        self._down = asyncio.Event()

    # -- the port -----------------------------------------------------------------------
    async def publish(self, event: Event) -> None:
        """Publish `event` on its topic's channel; `BusUnavailable` when Redis is down."""
        parse_topic(event.topic)
        payload = encode_event(event)
        try:
            await self._client.publish(self._channel(event.topic), payload)
        except (RedisError, OSError) as exc:
            log.warning("event_bus_publish_failed", error=type(exc).__name__)
            raise BusUnavailable(
                "The event bus is unavailable", retry_after=RETRY_AFTER_SECONDS
            ) from exc

    async def publish_many(self, events: Sequence[Event]) -> None:
        """Publish `events` in order, pipelined: one round trip to Redis for all."""
        if not events:
            return
        payloads = []
        for event in events:
            parse_topic(event.topic)
            payloads.append((self._channel(event.topic), encode_event(event)))
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for channel, payload in payloads:
                    pipe.publish(channel, payload)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("event_bus_publish_failed", error=type(exc).__name__)
            raise BusUnavailable(
                "The event bus is unavailable", retry_after=RETRY_AFTER_SECONDS
            ) from exc

    async def subscribe(self, topics: list[str], *, max_queue: int = 1000) -> BoundedSubscription:
        """A bounded subscription to `topics`, returned once Redis confirmed the channels;
        `BusUnavailable` (with `retry_after`) as soon as the listener finds Redis away."""
        unique = checked_topics(topics)
        sub = BoundedSubscription(unique, max_queue, self._release)
        if self._closed:
            raise BusUnavailable("The event bus is closed")
        if self._down.is_set():
            raise _unavailable()
        self._ensure_listener()
        async with self._lock:
            fresh = self._fanout.add(sub)
            waiters = [
                self._waiter(ch) for ch in map(self._channel, unique) if ch not in self._confirmed
            ]
            if fresh and self._pubsub is not None:
                await self._send(self._pubsub.subscribe, [self._channel(t) for t in fresh])
        if not await self._confirmed_or_down(waiters):
            await sub.close()
            raise _unavailable()
        return sub

    async def _confirmed_or_down(self, waiters: list[asyncio.Future[None]]) -> bool:
        """Whether Redis confirmed every channel before the listener lost it or timed out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._subscribe_timeout
        down: asyncio.Future[Any] = asyncio.ensure_future(self._down.wait())
        pending: set[asyncio.Future[Any]] = set(waiters)
        try:
            while pending and not down.done() and loop.time() < deadline:
                done, _ = await asyncio.wait(
                    {*pending, down},
                    timeout=deadline - loop.time(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                pending -= done
        finally:
            down.cancel()
            await asyncio.wait({down})
        return not pending and not any(waiter.cancelled() for waiter in waiters)

    async def ping(self) -> None:
        """Raise `ConnectionError` when Redis does not answer or the listener is down."""
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            raise ConnectionError("event bus unreachable") from exc
        if self._listener is not None and self._pubsub is None:
            raise ConnectionError("event bus listener reconnecting")

    async def aclose(self) -> None:
        """Stop listening, end every subscription and close the connections."""
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            # Bounded: a cancellation landing inside redis-py's read can be swallowed;
            # `_closed` then ends the loop after its current poll.
            await asyncio.wait({self._listener}, timeout=self._poll + 1.0)
            if self._listener.done() and not self._listener.cancelled():
                self._listener.exception()  # retrieved: it ended while we were closing
            self._listener = None
        self._fanout.end_all()
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.cancel()
        self._waiters.clear()
        await self._client.aclose()
        await self._listen_client.aclose()

    @property
    def subscriber_count(self) -> int:
        """Live local subscriptions (tests, metrics)."""
        return len(self._fanout.subscriptions())

    def subscribers_of(self, topic: str) -> int:
        """Live local subscriptions to `topic` (tests, metrics)."""
        return self._fanout.count(topic)

    # -- subscriptions ------------------------------------------------------------------
    def _channel(self, topic: str) -> str:
        return self._prefix + topic

    def _waiter(self, channel: str) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        return waiter

    async def _release(self, sub: BoundedSubscription) -> None:
        # Bookkeeping first, with no await in between, so it is done even if the closer
        # is being cancelled (a client that went away); the UNSUBSCRIBE runs shielded.
        gone = self._fanout.remove(sub)
        for channel in map(self._channel, gone):
            self._confirmed.discard(channel)
            for waiter in self._waiters.pop(channel, []):
                waiter.cancel()
        if gone and not self._closed:
            task = asyncio.create_task(self._unsubscribe(gone))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await asyncio.shield(task)

    async def _unsubscribe(self, topics: list[str]) -> None:
        async with self._lock:
            # A subscriber may have come back for a topic while we waited for the lock.
            idle = set(topics) - set(self._fanout.topics)
            if idle and self._pubsub is not None:
                await self._send(self._pubsub.unsubscribe, [self._channel(t) for t in idle])

    async def _send(self, command: Any, channels: list[str]) -> None:
        # A failure here means the connection is dropping: the listener notices, and on
        # reconnecting subscribes every channel that still has local subscribers.
        try:
            await command(*channels)
        except (RedisError, OSError) as exc:
            log.debug("event_bus_command_failed", error=type(exc).__name__)

    # -- the listener -------------------------------------------------------------------
    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._run(), name="event-bus-listener")

    async def _run(self) -> None:
        delay, cap = self._backoff
        failed = False
        while not self._closed:
            pubsub = self._listen_client.pubsub()
            try:
                await self._attach(pubsub)
                if failed:
                    log.info("event_bus_reconnected")
                    self._fanout.mark_gap(RECONNECT)
                failed, delay = False, self._backoff[0]
                await self._listen(pubsub)
            except (RedisError, OSError, RuntimeError) as exc:
                self._down.set()
                if not failed:
                    log.warning("event_bus_disconnected", error=type(exc).__name__)
                    self._fanout.mark_gap(RECONNECT)
                failed = True
            finally:
                self._pubsub = None
                await _close_quietly(pubsub)
            if failed and not self._closed:
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter)
                delay = min(delay * 2, cap)

    async def _attach(self, pubsub: PubSub) -> None:
        async with self._lock:
            self._confirmed.clear()
            channels = [self._channel(t) for t in self._fanout.topics]
            await pubsub.subscribe(self._prefix + _CONTROL, *channels)
            self._pubsub = pubsub
            self._down.clear()

    async def _listen(self, pubsub: PubSub) -> None:
        while not self._closed:
            message = await pubsub.get_message(timeout=self._poll)
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = _text(message.get("channel"))
        if kind == "message" and channel.startswith(self._prefix):
            self._dispatch(channel[len(self._prefix) :], message.get("data"))
        elif kind == "subscribe":
            self._confirmed.add(channel)
            for waiter in self._waiters.pop(channel, []):
                if not waiter.done():
                    waiter.set_result(None)

    def _dispatch(self, topic: str, raw: object) -> None:
        if not isinstance(raw, bytes | str):
            return
        try:
            event = decode_event(raw, topic=topic)
        except ValueError:
            log.warning("event_bus_bad_payload", topic=topic)
            return
        self._fanout.deliver(event)


def _unavailable() -> BusUnavailable:
    return BusUnavailable("The event bus is unavailable", retry_after=RETRY_AFTER_SECONDS)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value or "")


async def _close_quietly(pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()  # type: ignore[no-untyped-call]
