"""What both buses share: bounded subscriber queues and fan-out to local subscribers."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from switchboard.core.errors import Invalid
from switchboard.core.events.schemas import Event, gap_event, parse_topic

OVERFLOW = "overflow"
RECONNECT = "reconnect"


class BoundedSubscription:
    """A subscriber's queue: at most `max_queue` events plus one leading gap marker.

    A slow reader never costs unbounded memory: when the queue is full the oldest events
    are dropped and one `bus.gap` marker (with the count) stands at the front in their
    place. Transport gaps (a reconnect) are queued in order, merged when adjacent.
    """

    def __init__(
        self,
        topics: tuple[str, ...],
        max_queue: int,
        on_close: Callable[[BoundedSubscription], Awaitable[None]],
    ) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._topics = topics
        self._max = max_queue
        self._on_close = on_close
        self._items: deque[Event] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics this subscription receives."""
        return self._topics

    @property
    def closed(self) -> bool:
        """True once closed (by its reader or by the bus)."""
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def __aiter__(self) -> BoundedSubscription:
        return self

    async def __anext__(self) -> Event:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    async def __aenter__(self) -> BoundedSubscription:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop receiving and free the queue; iteration ends."""
        if self._closed:
            return
        self.end()
        await self._on_close(self)

    def end(self) -> None:
        """Close without telling the bus (the bus is closing, or already forgot us)."""
        self._closed = True
        self._items.clear()
        self._ready.set()

    def put(self, event: Event) -> None:
        """Queue `event`, dropping the oldest ones if the reader is too far behind."""
        if self._closed:
            return
        self._items.append(event)
        self._trim()
        self._ready.set()

    def mark_gap(self, reason: str) -> None:
        """Note that events may have been lost here (the transport dropped)."""
        if self._closed:
            return
        last = self._items[-1] if self._items else None
        if last is not None and last.is_gap:
            self._items[-1] = self._gap(int(last.data.get("dropped", 0)), reason)
        else:
            self._items.append(self._gap(0, reason))
            self._trim()
        self._ready.set()

    def _trim(self) -> None:
        head = self._items[0] if self._items and self._items[0].is_gap else None
        if len(self._items) - (head is not None) <= self._max:
            return
        dropped = 0
        while len(self._items) > self._max:
            old = self._items.popleft()
            dropped += int(old.data.get("dropped", 0)) if old.is_gap else 1
        self._items.appendleft(self._gap(dropped, OVERFLOW))

    def _gap(self, dropped: int, reason: str) -> Event:
        return gap_event(self._topics[0], dropped=dropped, reason=reason)


class LocalFanout:
    """Topic → local subscribers, with the set of topics anyone here listens to."""

    def __init__(self) -> None:
        self._by_topic: dict[str, set[BoundedSubscription]] = {}

    @property
    def topics(self) -> list[str]:
        """Every topic with at least one local subscriber."""
        return list(self._by_topic)

    def subscriptions(self) -> set[BoundedSubscription]:
        """Every live local subscription."""
        return {sub for subs in self._by_topic.values() for sub in subs}

    def count(self, topic: str) -> int:
        """How many local subscribers `topic` has."""
        return len(self._by_topic.get(topic, ()))

    def add(self, sub: BoundedSubscription) -> list[str]:
        """Register `sub`; returns the topics that had no local subscriber before."""
        fresh = [t for t in sub.topics if t not in self._by_topic]
        for topic in sub.topics:
            self._by_topic.setdefault(topic, set()).add(sub)
        return fresh

    def remove(self, sub: BoundedSubscription) -> list[str]:
        """Forget `sub`; returns the topics that now have no local subscriber."""
        gone: list[str] = []
        for topic in sub.topics:
            subs = self._by_topic.get(topic)
            if subs is None:
                continue
            subs.discard(sub)
            if not subs:
                del self._by_topic[topic]
                gone.append(topic)
        return gone

    def deliver(self, event: Event) -> int:
        """Queue `event` for every local subscriber of its topic; returns how many."""
        subs = self._by_topic.get(event.topic, ())
        for sub in subs:
            sub.put(event)
        return len(subs)

    def mark_gap(self, reason: str) -> None:
        """Tell every local subscriber that events may have been lost."""
        for sub in self.subscriptions():
            sub.mark_gap(reason)

    def end_all(self) -> None:
        """End every subscription (the bus is closing)."""
        for sub in self.subscriptions():
            sub.end()
        self._by_topic.clear()


def checked_topics(topics: list[str]) -> tuple[str, ...]:
    """`topics` without duplicates, at least one, each valid (`Invalid` otherwise)."""
    unique = tuple(dict.fromkeys(topics))
    if not unique:
        raise Invalid("Name at least one topic", code="no_topics", param="topics")
    for topic in unique:
        parse_topic(topic)
    return unique
