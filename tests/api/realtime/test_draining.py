"""Draining on SIGTERM (issue 11, item 7) and the per-user stream cap (item 5), unit by
unit: the chained signal handler, a stream cut by its tripwire, slots held and freed."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import AsyncIterator
from types import FrameType

import pytest

from switchboard.api.draining import (
    SERVER_SHUTDOWN,
    Draining,
    Tripped,
    Tripwire,
    until_tripped,
)
from switchboard.api.realtime.slots import StreamSlots, TooManyStreams, holding
from tests.fixtures.waiting import yield_to_loop


async def _slow(items: list[str], gate: asyncio.Event, closed: list[bool]) -> AsyncIterator[str]:
    try:
        for item in items:
            yield item
        await gate.wait()  # the upstream goes quiet
        yield "late"
    finally:
        closed.append(True)


class TestUntilTripped:
    async def test_items_pass_through_until_the_source_ends(self) -> None:
        closed: list[bool] = []
        gate = asyncio.Event()
        gate.set()
        got = [x async for x in until_tripped(_slow(["a", "b"], gate, closed), Tripwire())]
        assert got == ["a", "b", "late"] and closed == [True]

    async def test_a_trip_while_waiting_ends_the_stream_at_once(self) -> None:
        wire, closed = Tripwire(), list[bool]()
        got: list[str] = []
        with pytest.raises(Tripped) as raised:
            async for item in until_tripped(_slow(["a"], asyncio.Event(), closed), wire):
                got.append(item)
                asyncio.get_running_loop().call_soon(wire.set, "server_shutdown")
        assert raised.value.reason == "server_shutdown"
        assert got == ["a"] and closed == [True]  # the quiet source was closed

    async def test_a_trip_while_the_consumer_holds_an_item_never_cancels_the_consumer(
        self,
    ) -> None:
        wire, closed = Tripwire(), list[bool]()
        gate = asyncio.Event()
        gate.set()
        stream = until_tripped(_slow(["a", "b"], gate, closed), wire)
        assert await anext(stream) == "a"
        wire.set("why")
        await asyncio.sleep(0)  # the consumer's own await (its send) is not interrupted
        with pytest.raises(Tripped):
            await anext(stream)

    async def test_an_outside_cancellation_is_never_taken_for_a_trip(self) -> None:
        wire = Tripwire()

        async def consume() -> None:
            async for _ in until_tripped(_slow([], asyncio.Event(), []), wire):
                pass

        task = asyncio.create_task(consume())
        await yield_to_loop()
        task.cancel()
        wire.set("server_shutdown")
        with pytest.raises(asyncio.CancelledError):
            await task


class TestArm:
    async def test_sigterm_sets_draining_and_still_reaches_the_previous_handler(
        self,
    ) -> None:
        seen: list[int] = []

        def previous(sig: int, frame: FrameType | None) -> None:
            seen.append(sig)

        before = signal.signal(signal.SIGTERM, previous)
        try:
            draining = Draining()
            disarm = draining.arm()
            signal.raise_signal(signal.SIGTERM)
            await asyncio.wait_for(draining.wait(), 5)
            assert draining.reason == SERVER_SHUTDOWN
            assert seen == [signal.SIGTERM]  # chained, never replaced
            disarm()
            assert signal.getsignal(signal.SIGTERM) is previous
        finally:
            signal.signal(signal.SIGTERM, before)


class TestSlots:
    def test_the_cap_is_per_user_and_zero_turns_it_off(self) -> None:
        slots = StreamSlots(2)
        first, _ = slots.acquire("u"), slots.acquire("u")
        with pytest.raises(TooManyStreams) as refused:
            slots.acquire("u")
        assert refused.value.retry_after and refused.value.code == "too_many_streams"
        slots.acquire("someone else")
        first.release()
        first.release()  # idempotent
        slots.acquire("u")
        unlimited = StreamSlots(0)
        for _ in range(100):
            unlimited.acquire("u")

    async def test_a_body_frees_its_slot_when_it_ends(self) -> None:
        slots = StreamSlots(1)
        gate = asyncio.Event()
        gate.set()
        body = holding(_slow(["a"], gate, []), slots.acquire("u"))
        assert [x async for x in body] == ["a", "late"]
        assert slots.open_streams("u") == 0

    async def test_a_body_never_started_frees_its_slot(self) -> None:
        slots = StreamSlots(1)
        body = holding(_slow(["a"], asyncio.Event(), []), slots.acquire("u"))
        assert slots.open_streams("u") == 1
        del body  # the client left before the response began
        gc.collect()
        await yield_to_loop()
        assert slots.open_streams("u") == 0
