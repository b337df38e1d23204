"""Who may subscribe to which topic: default deny, and denial looks like absence.

- `user:{id}`: only that user.
- `task:{id}`, `session:{id}`, `bridge:{id}`: only the user who owns the thing, as the
  domain that owns it reports through `TopicOwnership`.
- `system`: administrators only.
- Anything else, malformed or unknown: denied.

Every denial is the same `NotFound`, so a subscriber cannot tell "someone else's" from
"does not exist" (an id probe learns nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from switchboard.core.accounts.principal import Principal
from switchboard.core.errors import Invalid, NotFound
from switchboard.core.events.ports import TopicOwnership
from switchboard.core.events.schemas import OWNED_KINDS, parse_topic

OwnerResolver = Callable[[str], Awaitable[str | None]]
"""Given the id in a topic, the owning user's id (None when there is no such thing)."""


class OwnershipRegistry:
    """A `TopicOwnership` made of one resolver per topic kind, registered by the domains."""

    def __init__(self) -> None:
        self._resolvers: dict[str, OwnerResolver] = {}

    def register(self, kind: str, resolver: OwnerResolver) -> None:
        """Answer ownership questions about `kind` topics with `resolver` (once per kind)."""
        if kind not in OWNED_KINDS:
            raise ValueError(f"'{kind}' topics are not owned things; known: {OWNED_KINDS}")
        if kind in self._resolvers:
            raise ValueError(f"an ownership resolver for '{kind}' is already registered")
        self._resolvers[kind] = resolver

    async def owner_of(self, kind: str, id: str) -> str | None:
        """The owner's user id, or None (also when no domain answers for `kind`)."""
        resolver = self._resolvers.get(kind)
        return None if resolver is None else await resolver(id)


class TopicAccess:
    """Decides whether a principal may subscribe to a topic."""

    def __init__(self, ownership: TopicOwnership) -> None:
        self.ownership = ownership

    async def authorize(self, principal: Principal, topic: str) -> str:
        """`topic`, exactly as it will be subscribed; `NotFound` when it is not allowed."""
        if not await self.may_subscribe(principal, topic):
            raise NotFound("Topic not found", code="topic_not_found", param="topic")
        return topic

    async def authorize_all(self, principal: Principal, topics: Iterable[str]) -> list[str]:
        """Every topic of `topics` (duplicates removed), or `NotFound` if any is denied."""
        allowed = [await self.authorize(principal, t) for t in dict.fromkeys(topics)]
        if not allowed:
            raise Invalid("Name at least one topic", code="no_topics", param="topics")
        return allowed

    async def may_subscribe(self, principal: Principal, topic: str) -> bool:
        """True when `principal` may receive the events of `topic`."""
        try:
            parsed = parse_topic(topic)
        except Invalid:
            return False
        if parsed.kind == "system":
            return principal.is_admin
        if parsed.id is None:
            return False
        if parsed.kind == "user":
            return parsed.id == principal.user_id
        owner = await self.ownership.owner_of(parsed.kind, parsed.id)
        return owner is not None and owner == principal.user_id
