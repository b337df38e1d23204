"""A turn's events on the bus, under its conversation's topic (`session:{id}`).

Subscribers on any replica follow a reply produced anywhere: `turn.started`, text and
thinking coalesced into a few `turn.delta` / `turn.thinking` events per second,
`turn.tool_started` and `turn.tool_finished` as they happen, and `turn.finished` with
the stored status. The bus is a courtesy to watchers: when it fails, the reply goes on
and the failure is logged once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

from switchboard.core.errors import SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event, session_topic
from switchboard.core.llm import TextDelta, ThinkingDelta, Usage
from switchboard.core.turns.events import ToolFinished, ToolStarted, TurnEvent

log = structlog.get_logger(__name__)

# Deltas are published at most this often: a watcher sees the text grow a few times a
# second, and the bus carries a handful of events per reply instead of one per token.
COALESCE_SECONDS = 0.25

STARTED = "turn.started"
DELTA = "turn.delta"
THINKING = "turn.thinking"
TOOL_STARTED = "turn.tool_started"
TOOL_FINISHED = "turn.tool_finished"
FINISHED = "turn.finished"


class TurnPublisher:
    """Publishes one turn's events; `monotonic` is injectable for tests."""

    def __init__(
        self,
        bus: EventBus,
        conversation_id: str,
        message_id: str,
        *,
        interval: float = COALESCE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._topic = session_topic(conversation_id)
        self._message_id = message_id
        self._interval = interval
        self._monotonic = monotonic
        self._pending: dict[str, list[str]] = {THINKING: [], DELTA: []}
        self._flushed_at = monotonic()
        self._failed = False

    async def started(self, data: dict[str, Any]) -> None:
        """The reply has begun; `data` says with which model and messages."""
        await self._publish([self._event(STARTED, data)])

    async def add(self, event: TurnEvent) -> None:
        """Publish `event` now (tool events) or with the next batch (deltas)."""
        if isinstance(event, TextDelta | ThinkingDelta):
            self._pending[DELTA if isinstance(event, TextDelta) else THINKING].append(event.text)
            if self._monotonic() - self._flushed_at >= self._interval:
                await self._publish(self._batch())
        elif isinstance(event, ToolStarted | ToolFinished):
            await self._publish([*self._batch(), self._tool_event(event)])

    async def finished(self, status: str, reason: str | None, usage: Usage | None) -> None:
        """The reply is stored as `status`: what was still pending, then `turn.finished`."""
        data: dict[str, Any] = {"status": status, "reason": reason}
        if usage is not None:
            data["usage"] = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
        await self._publish([*self._batch(), self._event(FINISHED, data)])

    def _batch(self) -> list[Event]:
        """The pending text and thinking as events (none when nothing is pending)."""
        self._flushed_at = self._monotonic()
        events = []
        for kind, pieces in self._pending.items():
            if pieces:
                events.append(self._event(kind, {"text": "".join(pieces)}))
                pieces.clear()
        return events

    def _tool_event(self, event: ToolStarted | ToolFinished) -> Event:
        data: dict[str, Any] = {"call_id": event.call_id, "name": event.name}
        if isinstance(event, ToolStarted):
            return self._event(TOOL_STARTED, data | {"arguments": event.arguments})
        if event.error is not None:
            return self._event(TOOL_FINISHED, data | {"error": event.error})
        return self._event(TOOL_FINISHED, data | {"result": event.result})

    def _event(self, kind: str, data: dict[str, Any]) -> Event:
        return Event(self._topic, kind, {"message_id": self._message_id, **data})

    async def _publish(self, events: list[Event]) -> None:
        if not events:
            return
        try:
            await self._bus.publish_many(events)
        except SwitchboardError as exc:
            if not self._failed:
                self._failed = True
                log.warning("turn_events_not_published", topic=self._topic, error=exc.code)
