"""What the core needs from an event bus, and from the domains that own topics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from switchboard.core.events.schemas import Event


class Subscription(Protocol):
    """A live feed of events on some topics; iterate it, then close it.

    Iteration ends once the subscription or its bus is closed.
    """

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics this subscription receives."""
        ...

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def close(self) -> None:
        """Stop receiving and free the subscriber's queue."""
        ...


class EventBus(Protocol):
    """Publish to topics; subscribe to topics. In-process or Redis pub/sub."""

    async def publish(self, event: Event) -> None:
        """Deliver `event` to every current subscriber of `event.topic`, on every replica.

        Raises `BusUnavailable` when the transport is down (nothing was delivered).
        """
        ...

    async def publish_many(self, events: Sequence[Event]) -> None:
        """`publish` each of `events`, in order, in one go (one round trip on Redis).

        Raises `BusUnavailable` when the transport is down (then none, or only some, of
        the events were delivered); an invalid topic raises before anything is sent.
        """
        ...

    async def subscribe(self, topics: list[str], *, max_queue: int = 1000) -> Subscription:
        """A subscription to `topics`. A subscriber that falls more than `max_queue` events
        behind loses the oldest ones and receives one `bus.gap` event in their place.

        The subscription is live when this returns: an event published afterwards, on any
        replica, reaches it. Raises `BusUnavailable` when the transport is down.
        """
        ...

    async def ping(self) -> None:
        """Raise (`ConnectionError`) when the bus's transport is unreachable."""
        ...

    async def aclose(self) -> None:
        """Close every subscription and the transport."""
        ...


class TopicOwnership(Protocol):
    """Who owns the thing an owned topic (`task:`, `session:`, `bridge:`) names."""

    async def owner_of(self, kind: str, id: str) -> str | None:
        """The owning user's id, or None when the thing does not exist (or is unknown)."""
        ...
