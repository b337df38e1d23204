"""What every bus does: delivery by topic, bounded queues with gap markers, closing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from switchboard.adapters.bus.memory import MemoryBus
from switchboard.adapters.bus.redis import RedisBus
from switchboard.core.errors import Invalid
from switchboard.core.events.schemas import GAP_TYPE, Event
from switchboard.kit.ids import new_id
from tests.fixtures.waiting import yield_to_loop

Bus = MemoryBus | RedisBus


async def next_event(sub: object, timeout: float = 2.0) -> Event:
    return await asyncio.wait_for(anext(sub), timeout)  # type: ignore[call-overload]


async def settle(bus: Bus) -> None:
    """Return once everything published so far has reached this process's queues.

    A fence: Redis delivers a connection's messages in the order it received the
    PUBLISHes, so once a fence published now arrives, every earlier event has too.
    """
    witness = await bus.subscribe([f"user:fence-{new_id()}"])
    await bus.publish(Event(topic=witness.topics[0], type="fence"))
    assert (await next_event(witness)).type == "fence"
    await witness.close()


class TestDelivery:
    async def test_subscriber_gets_events_of_its_topics_only(self, bus: Bus) -> None:
        sub = await bus.subscribe(["user:a", "task:t"])
        await bus.publish(Event(topic="user:b", type="other"))
        await bus.publish(Event(topic="user:a", type="one", data={"n": 1}))
        await bus.publish(Event(topic="task:t", type="two"))
        first, second = await next_event(sub), await next_event(sub)
        assert (first.topic, first.type, first.data) == ("user:a", "one", {"n": 1})
        assert (second.topic, second.type) == ("task:t", "two")
        await settle(bus)
        assert len(sub) == 0  # type: ignore[arg-type]
        await sub.close()

    async def test_every_subscriber_of_a_topic_gets_a_json_copy(self, bus: Bus) -> None:
        one, two = await bus.subscribe(["user:a"]), await bus.subscribe(["user:a"])
        at = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
        sent = Event(topic="user:a", type="x", data={"when": at, "items": (1, 2)}, at=at)
        await bus.publish(sent)
        for sub in (one, two):
            got = await next_event(sub)
            assert got.id == sent.id and got.at == at
            assert got.data == {"when": "2026-01-02T03:04:05.006000+00:00", "items": [1, 2]}
        await one.close()
        await two.close()

    async def test_non_json_data_is_refused(self, bus: Bus) -> None:
        with pytest.raises(TypeError):
            await bus.publish(Event(topic="user:a", type="x", data={"bad": object()}))

    @pytest.mark.parametrize("topic", ["user:*", "nope", "user:a:b", ""])
    async def test_bad_topics_are_refused(self, bus: Bus, topic: str) -> None:
        with pytest.raises(Invalid):
            await bus.publish(Event(topic=topic, type="x"))
        with pytest.raises(Invalid):
            await bus.subscribe([topic])

    async def test_no_topics_is_refused(self, bus: Bus) -> None:
        with pytest.raises(Invalid):
            await bus.subscribe([])


class TestPublishMany:
    async def test_events_arrive_in_order_on_their_topics(self, bus: Bus) -> None:
        sub = await bus.subscribe(["user:a", "task:t"])
        other = await bus.subscribe(["user:b"])
        sent = [
            Event(topic="task:t", type="job.started", data={"n": 0}),
            Event(topic="user:a", type="job.started", data={"n": 1}),
            Event(topic="user:b", type="elsewhere"),
            Event(topic="task:t", type="job.completed", data={"n": 2}),
            Event(topic="user:a", type="job.completed", data={"n": 3}),
        ]
        await bus.publish_many(sent)
        got = [await next_event(sub) for _ in range(4)]
        assert [(e.topic, e.type, e.data, e.id) for e in got] == [
            (e.topic, e.type, e.data, e.id) for e in sent if e.topic != "user:b"
        ]
        assert (await next_event(other)).type == "elsewhere"
        await settle(bus)
        assert len(sub) == 0  # type: ignore[arg-type]
        await sub.close()
        await other.close()

    async def test_nothing_is_sent_when_one_topic_is_bad(self, bus: Bus) -> None:
        sub = await bus.subscribe(["user:a"])
        with pytest.raises(Invalid):
            await bus.publish_many([Event(topic="user:a", type="x"), Event(topic="nope", type="y")])
        await bus.publish(Event(topic="user:a", type="after"))
        assert (await next_event(sub)).type == "after"
        await sub.close()

    async def test_an_empty_batch_is_fine(self, bus: Bus) -> None:
        await bus.publish_many([])


class TestSlowSubscriber:
    async def test_oldest_events_dropped_behind_one_gap_marker(self, bus: Bus) -> None:
        sub = await bus.subscribe(["user:a"], max_queue=5)
        for n in range(50):
            await bus.publish(Event(topic="user:a", type="n", data={"n": n}))
        await settle(bus)
        assert len(sub) <= 6  # type: ignore[arg-type]
        gap = await next_event(sub)
        assert gap.type == GAP_TYPE
        assert gap.data == {"dropped": 45, "reason": "overflow"}
        assert [(await next_event(sub)).data["n"] for _ in range(5)] == [45, 46, 47, 48, 49]
        await sub.close()

    async def test_a_reader_that_keeps_up_sees_no_gap(self, bus: Bus) -> None:
        sub = await bus.subscribe(["user:a"], max_queue=2)
        for n in range(20):
            await bus.publish(Event(topic="user:a", type="n", data={"n": n}))
            assert (await next_event(sub)).data["n"] == n
        await sub.close()


class TestClosing:
    async def test_close_ends_iteration_and_frees_the_subscriber(self, bus: Bus) -> None:
        sub = await bus.subscribe(["user:a"])
        assert bus.subscriber_count == 1
        reader = asyncio.create_task(anext(sub, None))
        await yield_to_loop()  # the reader is now waiting for an event
        await sub.close()
        assert await asyncio.wait_for(reader, 1) is None
        assert bus.subscriber_count == 0
        await bus.publish(Event(topic="user:a", type="after"))
        await sub.close()  # twice is fine

    async def test_closing_the_bus_ends_every_subscription(self, bus: Bus) -> None:
        subs = [await bus.subscribe(["user:a"]) for _ in range(3)]
        readers = [asyncio.create_task(anext(s, None)) for s in subs]
        await yield_to_loop()  # every reader is now waiting for an event
        await bus.aclose()
        assert await asyncio.wait_for(asyncio.gather(*readers), 1) == [None] * 3

    async def test_ping(self, bus: Bus) -> None:
        await bus.ping()
