"""The in-process bus: one process, no transport, bounded per-subscriber queues."""

from __future__ import annotations

from collections.abc import Sequence

from switchboard.adapters.bus.codec import copy_event
from switchboard.adapters.bus.local import BoundedSubscription, LocalFanout, checked_topics
from switchboard.core.events.schemas import Event, parse_topic


class MemoryBus:
    """An `EventBus` for a single process (the default without Redis)."""

    def __init__(self) -> None:
        self._fanout = LocalFanout()
        self._closed = False

    async def publish(self, event: Event) -> None:
        """Deliver a JSON copy of `event` to the local subscribers of its topic."""
        parse_topic(event.topic)
        self._deliver(event)

    async def publish_many(self, events: Sequence[Event]) -> None:
        """`publish` each event, in order; every topic is checked before any is sent."""
        for event in events:
            parse_topic(event.topic)
        for event in events:
            self._deliver(event)

    def _deliver(self, event: Event) -> None:
        if self._closed:
            return
        # The copy gives subscribers exactly what the Redis bus would, so code that works
        # here works when scaled out (and a non-JSON payload fails here too).
        self._fanout.deliver(copy_event(event))

    async def subscribe(self, topics: list[str], *, max_queue: int = 1000) -> BoundedSubscription:
        """A bounded subscription to `topics`, live at once."""
        unique = checked_topics(topics)
        sub = BoundedSubscription(unique, max_queue, self._release)
        if self._closed:
            sub.end()
            return sub
        self._fanout.add(sub)
        return sub

    async def ping(self) -> None:
        """Always reachable."""

    async def aclose(self) -> None:
        """End every subscription; later publishes are dropped."""
        self._closed = True
        self._fanout.end_all()

    @property
    def subscriber_count(self) -> int:
        """Live local subscriptions (tests, metrics)."""
        return len(self._fanout.subscriptions())

    def subscribers_of(self, topic: str) -> int:
        """Live local subscriptions to `topic` (tests, metrics)."""
        return self._fanout.count(topic)

    async def _release(self, sub: BoundedSubscription) -> None:
        self._fanout.remove(sub)
