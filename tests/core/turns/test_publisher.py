"""A turn's events on the bus: deltas coalesced by time, tool events at once, a finish."""

from __future__ import annotations

from collections.abc import Sequence

from switchboard.adapters.bus.memory import MemoryBus
from switchboard.core.events.errors import BusUnavailable
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event
from switchboard.core.llm import TextDelta, ThinkingDelta, Usage
from switchboard.core.turns.events import ToolFinished, ToolStarted
from switchboard.core.turns.publisher import TurnPublisher


class Recording(MemoryBus):
    """A bus that keeps what was published."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Event] = []

    async def publish_many(self, events: Sequence[Event]) -> None:
        self.published.extend(events)
        await super().publish_many(events)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _publisher(bus: EventBus, clock: Clock) -> TurnPublisher:
    return TurnPublisher(bus, "conv1", "msg1", interval=0.25, monotonic=clock)


async def test_deltas_are_coalesced_until_the_interval_passes() -> None:
    bus, clock = Recording(), Clock()
    publisher = _publisher(bus, clock)
    await publisher.add(TextDelta("a"))
    await publisher.add(ThinkingDelta("t"))
    await publisher.add(TextDelta("b"))
    assert bus.published == []
    clock.now = 0.3
    await publisher.add(TextDelta("c"))
    assert [(e.type, e.data["text"]) for e in bus.published] == [
        ("turn.thinking", "t"),
        ("turn.delta", "abc"),
    ]
    assert {e.topic for e in bus.published} == {"session:conv1"}
    assert {e.data["message_id"] for e in bus.published} == {"msg1"}


async def test_tool_events_flush_pending_text_first() -> None:
    bus, clock = Recording(), Clock()
    publisher = _publisher(bus, clock)
    await publisher.add(TextDelta("Let me look."))
    await publisher.add(ToolStarted("c1", "search", '{"q": "x"}'))
    await publisher.add(ToolFinished("c1", "search", error="offline"))
    assert [e.type for e in bus.published] == [
        "turn.delta",
        "turn.tool_started",
        "turn.tool_finished",
    ]
    assert bus.published[1].data["arguments"] == '{"q": "x"}'
    assert bus.published[2].data["error"] == "offline"
    assert "result" not in bus.published[2].data


async def test_finished_carries_status_reason_and_usage() -> None:
    bus, clock = Recording(), Clock()
    publisher = _publisher(bus, clock)
    await publisher.started({"model": "m"})
    await publisher.add(TextDelta("partial"))
    await publisher.finished("partial", "stopped", Usage(3, 4))
    assert [e.type for e in bus.published] == ["turn.started", "turn.delta", "turn.finished"]
    assert bus.published[-1].data == {
        "message_id": "msg1",
        "status": "partial",
        "reason": "stopped",
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }


async def test_a_failing_bus_never_fails_the_turn() -> None:
    class Down(MemoryBus):
        async def publish_many(self, events: Sequence[Event]) -> None:
            raise BusUnavailable("The event bus is unavailable")

    publisher = _publisher(Down(), Clock())
    await publisher.started({})
    await publisher.add(ToolStarted("c1", "x", "{}"))
    await publisher.finished("complete", None, None)
