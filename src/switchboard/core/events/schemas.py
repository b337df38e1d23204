"""What travels on the bus, and the grammar of topics."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias, cast

from switchboard.core.errors import Invalid
from switchboard.kit.clock import utcnow
from switchboard.kit.ids import new_id

TopicKind: TypeAlias = Literal["user", "task", "session", "comfy", "bridge", "system"]
OWNED_KINDS: Final = ("task", "session", "comfy", "bridge")
SYSTEM_TOPIC: Final = "system"
# The marker a subscriber receives in place of events it lost (queue overflow, or the
# transport reconnecting); `data` says how many and why.
GAP_TYPE: Final = "bus.gap"

# One narrow grammar for ids inside topics. It excludes ':' and the glob characters
# ('*', '?', '[') so that a topic can never address more than one channel, on any
# transport, and the string checked is byte for byte the string subscribed.
_TOPIC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_KINDS: Final = frozenset({"user", "task", "session", "comfy", "bridge"})


@dataclass(frozen=True, slots=True)
class Event:
    """One event on one topic. `type` is dotted (`job.progress`, `reply.stop`, `bus.gap`).

    `data` must be JSON-serialisable: every bus delivers what a JSON round trip gives.
    """

    topic: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    at: datetime = field(default_factory=utcnow)

    @property
    def is_gap(self) -> bool:
        """True for the marker that stands in for lost events."""
        return self.type == GAP_TYPE


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: its kind and, except for `system`, the id it names."""

    kind: TopicKind
    id: str | None

    def __str__(self) -> str:
        return SYSTEM_TOPIC if self.id is None else f"{self.kind}:{self.id}"


def parse_topic(topic: str) -> Topic:
    """The kind and id of `topic`; `Invalid` when it breaks the grammar."""
    if topic == SYSTEM_TOPIC:
        return Topic("system", None)
    kind, sep, ident = topic.partition(":")
    if not sep or kind not in _KINDS or not _TOPIC_ID.fullmatch(ident):
        raise Invalid("Unknown topic", code="invalid_topic", param="topic")
    return Topic(cast(TopicKind, kind), ident)


def gap_event(topic: str, *, dropped: int, reason: str) -> Event:
    """A `bus.gap` marker: `dropped` events are gone (0 when unknown, e.g. a reconnect)."""
    return Event(topic=topic, type=GAP_TYPE, data={"dropped": dropped, "reason": reason})


def user_topic(user_id: str) -> str:
    """Everything that concerns one user."""
    return f"user:{user_id}"


def task_topic(job_id: str) -> str:
    """One job's lifecycle."""
    return f"task:{job_id}"


def comfy_topic(session_id: str) -> str:
    """The generations of one ComfyUI session."""
    return f"comfy:{session_id}"


def session_topic(session_id: str) -> str:
    """One chat or agent session."""
    return f"session:{session_id}"


def bridge_topic(bridge_id: str) -> str:
    """One desktop bridge."""
    return f"bridge:{bridge_id}"
