"""Streaming replies survive their replica (issue 11, item 7): flushes, leases, the sweep,
and the end of every reply on shutdown. Time is injected: a monotonic clock for the
flush cadence, a wall clock for lease deadlines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from switchboard.core.container import Services
from switchboard.core.conversations.errors import ShuttingDown
from switchboard.core.conversations.lease_repository import StreamingRows
from switchboard.core.conversations.leases import (
    PendingText,
    ReplyLeases,
    StreamPersistence,
)
from switchboard.core.conversations.runner import ReplyEvent, ReplyFinished
from switchboard.core.conversations.schemas import ConversationCreate, MessageRead, MessageStatus
from switchboard.core.llm import TextDelta
from switchboard.kit.clock import utcnow
from switchboard.models import Message
from tests.core.conversations.test_runner import LONG_REPLY, OPTIONS, Chat, _chat, _text
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream

OPTIONS_10B = StreamPersistence(flush_interval_seconds=1.0, flush_bytes=10, lease_seconds=10.0)


@dataclass
class Clocks:
    """A monotonic clock and a wall clock that tests move by hand."""

    mono: float = 100.0
    # From the real time: the app's own sweeper (real clock) must see these leases live.
    wall: datetime = field(default_factory=utcnow)

    def monotonic(self) -> float:
        return self.mono

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


class TestPendingText:
    def test_nothing_is_due_before_the_interval_or_the_size(self) -> None:
        clocks = Clocks()
        text = PendingText(1.0, 10, clocks.monotonic)
        text.add("abc")
        clocks.advance(0.99)
        assert not text.due()

    def test_due_once_the_interval_passed(self) -> None:
        clocks = Clocks()
        text = PendingText(1.0, 10, clocks.monotonic)
        text.add("abc")
        clocks.advance(1.0)
        assert text.due()
        assert text.take() == "abc"
        assert not text.due()  # taken: nothing unsaved
        clocks.advance(5)
        assert not text.due()  # time alone never makes a flush due

    def test_due_at_the_size_whatever_the_time(self) -> None:
        clocks = Clocks()
        text = PendingText(1.0, 10, clocks.monotonic)
        text.add("12345")
        assert not text.due()
        text.add("é" * 3)  # bytes, not characters: 5 + 6
        assert text.due()

    def test_the_interval_counts_from_the_last_save(self) -> None:
        clocks = Clocks()
        text = PendingText(1.0, 1000, clocks.monotonic)
        text.add("a")
        clocks.advance(1.0)
        text.take()
        text.add("b")
        clocks.advance(0.5)
        assert not text.due()
        clocks.advance(0.5)
        assert text.due() and text.take() == "ab"


def test_the_lease_is_derived_from_the_flush_interval() -> None:
    assert StreamPersistence.from_flush(1.0, 2048).lease_seconds == 10.0
    assert StreamPersistence.from_flush(0.05, 2048).lease_seconds == 2.0


async def _streaming_row(
    harness: Harness, leases: ReplyLeases, clocks: Clocks
) -> tuple[str, MessageRead]:
    user = await harness.user("leases@example.com")

    async def work(services: Services) -> MessageRead:
        chat = await services.conversations.create(user.id, ConversationCreate())
        return await services.conversations.append(
            user.id,
            chat.id,
            role="assistant",
            content="",
            status=MessageStatus.STREAMING,
            lease=(leases.replica, clocks.now() + timedelta(seconds=10)),
        )

    message: MessageRead = await harness.run(work)
    return user.id, message


async def _row(harness: Harness, message_id: str) -> Message:
    async with harness.ctx.unit_of_work() as uow:
        row = await uow.session.get(Message, message_id)
        assert row is not None
        return row


def _leases(harness: Harness, clocks: Clocks, replica: str) -> ReplyLeases:
    return ReplyLeases(
        StreamingRows(harness.ctx.unit_of_work),
        OPTIONS_10B,
        replica=replica,
        clock=clocks.now,
        monotonic=clocks.monotonic,
    )


class TestFlushes:
    async def test_text_is_saved_on_the_interval_and_on_the_size(self, harness: Harness) -> None:
        clocks = Clocks()
        leases = _leases(harness, clocks, "a")
        _, message = await _streaming_row(harness, leases, clocks)
        live = leases.track(message.id)

        leases.add(live, "hello ")
        await leases.settle()
        assert (await _row(harness, message.id)).content == ""  # neither due yet

        clocks.advance(1.0)
        leases.add(live, "you")
        await leases.settle()
        row = await _row(harness, message.id)
        assert row.content == "hello you"
        assert row.lease_expires_at == clocks.now() + timedelta(seconds=10)  # extended

        leases.add(live, " and everyone")  # 13 bytes: due at once
        await leases.settle()
        assert (await _row(harness, message.id)).content == "hello you and everyone"

    async def test_the_heartbeat_flushes_text_left_waiting(self, harness: Harness) -> None:
        clocks = Clocks()
        leases = _leases(harness, clocks, "a")
        _, message = await _streaming_row(harness, leases, clocks)
        live = leases.track(message.id)
        leases.add(live, "tail")  # the upstream then goes quiet
        clocks.advance(1.0)
        await leases.tick()
        await leases.settle()
        assert (await _row(harness, message.id)).content == "tail"

    async def test_a_flush_never_touches_a_finished_reply(self, harness: Harness) -> None:
        clocks = Clocks()
        leases = _leases(harness, clocks, "a")
        _, message = await _streaming_row(harness, leases, clocks)
        rows = StreamingRows(harness.ctx.unit_of_work)
        async with harness.ctx.unit_of_work() as uow:
            row = await uow.session.get(Message, message.id)
            assert row is not None
            row.status, row.content = "complete", "final"
        assert not await rows.flush(message.id, "a", "stale", clocks.now())
        assert (await _row(harness, message.id)).content == "final"


class TestSweep:
    async def test_a_dead_replicas_reply_becomes_partial_with_its_flushed_text(
        self, harness: Harness
    ) -> None:
        clocks = Clocks()
        dead = _leases(harness, clocks, "dead")
        _, message = await _streaming_row(harness, dead, clocks)
        live = dead.track(message.id)
        dead.add(live, "saved before the crash")
        await dead.settle()
        survivor = _leases(harness, clocks, "survivor")

        clocks.advance(9.0)  # within the lease: the replica may just be slow
        assert message.id not in await survivor.sweep()
        assert (await _row(harness, message.id)).status == "streaming"

        clocks.advance(2.0)
        assert message.id in await survivor.sweep()
        row = await _row(harness, message.id)
        assert (row.status, row.status_reason) == ("partial", "server_restart")
        assert row.content == "saved before the crash"
        assert row.completed_at == clocks.now() and row.lease_owner is None

    async def test_the_heartbeat_keeps_a_quiet_reply_alive(self, harness: Harness) -> None:
        clocks = Clocks()
        alive = _leases(harness, clocks, "alive")
        _, message = await _streaming_row(harness, alive, clocks)
        alive.track(message.id)  # waiting on a slow upstream: no text, nothing to flush
        other = _leases(harness, clocks, "other")
        for _ in range(5):
            clocks.advance(4.0)
            await alive.tick()
            assert message.id not in await other.sweep()
        assert (await _row(harness, message.id)).status == "streaming"


@pytest.fixture
async def chat(harness: Harness, openai_upstream: FakeUpstream) -> Chat:
    return await _chat(harness, openai_upstream)


class TestRunnerLeases:
    async def test_a_streaming_reply_carries_this_replicas_lease_until_finished(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply(LONG_REPLY)
        openai_upstream.chunk_delay = 0.02
        runner = chat.harness.ctx.replies
        rows: list[Message] = []
        async for event in runner.stream(chat.owner, chat.conversation_id, "hi", OPTIONS):
            if isinstance(event, TextDelta) and not rows:
                rows.append(await _row(chat.harness, (await chat.last()).id))
        assert rows[0].lease_owner == runner.leases.replica
        assert rows[0].lease_expires_at is not None
        final = await _row(chat.harness, (await chat.last()).id)
        assert final.status == "complete" and final.lease_owner is None

    async def test_text_is_flushed_while_the_reply_streams(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply(LONG_REPLY)
        openai_upstream.chunk_delay = 0.02
        runner = chat.harness.ctx.replies
        runner.leases = _leases(chat.harness, Clocks(), runner.leases.replica)
        seen: list[str] = []
        events: list[ReplyEvent] = []
        async for event in runner.stream(chat.owner, chat.conversation_id, "hi", OPTIONS):
            events.append(event)
            if isinstance(event, TextDelta) and len(_text(events)) > 40 and not seen:
                await runner.leases.settle()
                seen.append((await _row(chat.harness, (await chat.last()).id)).content)
        assert seen[0] and _text(events).startswith(seen[0])  # 10-byte flushes happened


class TestShutdown:
    async def test_interrupt_all_ends_the_stream_with_an_error_and_a_partial_row(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply(LONG_REPLY)
        openai_upstream.chunk_delay = 0.05
        runner = chat.harness.ctx.replies
        events: list[ReplyEvent] = []
        async for event in runner.stream(chat.owner, chat.conversation_id, "hi", OPTIONS):
            events.append(event)
            if isinstance(event, TextDelta) and len(events) == 4:
                assert runner.interrupt_all() == 1
        finished = events[-1]
        assert isinstance(finished, ReplyFinished)
        assert isinstance(finished.error, ShuttingDown)
        assert finished.message.status == MessageStatus.PARTIAL
        assert finished.message.status_reason == "server_shutdown"
        assert finished.message.content == _text(events) and _text(events)
        stored = await chat.last()
        assert (stored.status, stored.status_reason) == (MessageStatus.PARTIAL, "server_shutdown")

    async def test_replies_asked_for_after_shutdown_began_are_refused(self, chat: Chat) -> None:
        runner = chat.harness.ctx.replies
        runner.interrupt_all()
        with pytest.raises(ShuttingDown):
            await runner.send(chat.owner, chat.conversation_id, "hi", OPTIONS)
        assert await chat.messages() == []  # nothing stored
