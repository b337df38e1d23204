"""ReplyRunner against the fake OpenAI upstream: the streaming and persistence rules.

The user's message is committed before the provider is called; the assistant's reply is
stored `complete`, or `partial`/`error` with the text received so far and a reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from switchboard.adapters.bus.memory import MemoryBus
from switchboard.adapters.bus.redis import RedisBus
from switchboard.bootstrap import build_bus
from switchboard.core.catalog.pricing import cost_usd
from switchboard.core.container import Services
from switchboard.core.conversations.active import ActiveReplies
from switchboard.core.conversations.errors import ConversationNotFound
from switchboard.core.conversations.runner import (
    ReplyEvent,
    ReplyFinished,
    ReplyOptions,
    ReplyRunner,
    ReplyStarted,
)
from switchboard.core.conversations.schemas import ConversationCreate, MessageRead, MessageStatus
from switchboard.core.errors import ErrorKind, SwitchboardError
from switchboard.core.events.schemas import SYSTEM_TOPIC
from switchboard.core.llm import TextDelta, Usage
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.upstreams.openai_fake import stream_outcomes
from tests.fixtures.waiting import eventually

OPTIONS = ReplyOptions(source="test")
# The fake server is shared by the session: a request this test gives up on (timeout,
# stop) is scripted to end in an error after its delay, so that it cannot take a reply
# scripted by a later test.
LONG_REPLY = " ".join(f"word{i}" for i in range(60))


@dataclass
class Chat:
    """A user with a conversation whose provider is the fake OpenAI server."""

    harness: Harness
    owner: str
    conversation_id: str

    async def messages(self) -> list[MessageRead]:
        page = await self.harness.run(
            lambda s: s.conversations.messages(self.owner, self.conversation_id, limit=100)
        )
        items: list[MessageRead] = page.items
        return items

    async def last(self) -> MessageRead:
        return (await self.messages())[-1]


async def _chat(
    harness: Harness,
    upstream: FakeUpstream,
    *,
    provider: str = "openai_compatible",
    model: str = "fake-model",
    api_key: str = OPENAI_TEST_KEY,
    email: str = "runner@example.com",
    **conversation: Any,
) -> Chat:
    user = await harness.user(email)

    async def work(services: Services) -> str:
        await services.providers.save_connection(
            user.id, provider, api_key=api_key, base_url=upstream.url + "/v1", allow_private=True
        )
        created = await services.conversations.create(
            user.id, ConversationCreate(provider=provider, model=model, **conversation)
        )
        return created.id

    return Chat(harness, user.id, await harness.run(work))


@pytest.fixture
async def chat(harness: Harness, openai_upstream: FakeUpstream) -> Chat:
    return await _chat(harness, openai_upstream)


async def _collect(events: AsyncIterator[ReplyEvent]) -> list[ReplyEvent]:
    return [event async for event in events]


def _stream(chat: Chat, content: str = "hello", options: ReplyOptions = OPTIONS) -> Any:
    return chat.harness.ctx.replies.stream(chat.owner, chat.conversation_id, content, options)


def _chat_requests(upstream: FakeUpstream) -> list[Any]:
    return [r for r in upstream.requests if r.path.endswith("/chat/completions")]


def _finished(events: list[ReplyEvent]) -> ReplyFinished:
    last = events[-1]
    assert isinstance(last, ReplyFinished)
    return last


def _text(events: list[ReplyEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


class TestSend:
    async def test_stores_both_messages_and_returns_them(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply("Hi there, friend")

        user, assistant = await chat.harness.ctx.replies.send(
            chat.owner, chat.conversation_id, "hello", OPTIONS
        )

        assert (user.role, user.content, user.status) == ("user", "hello", MessageStatus.COMPLETE)
        assert assistant.role == "assistant"
        assert assistant.content == "Hi there, friend"
        assert assistant.status == MessageStatus.COMPLETE and assistant.status_reason is None
        assert (assistant.provider, assistant.model) == ("openai_compatible", "fake-model")
        stored = await chat.messages()
        assert [(m.seq, m.role) for m in stored] == [(1, "user"), (2, "assistant")]
        assert stored[-1].content == "Hi there, friend"
        assert stored[-1].status == MessageStatus.COMPLETE

    async def test_stores_tokens_cost_and_timings(
        self, harness: Harness, openai_upstream: FakeUpstream
    ) -> None:
        chat = await _chat(harness, openai_upstream, provider="openai", model="gpt-4o-mini")
        openai_upstream.reply("one two three")

        _, assistant = await harness.ctx.replies.send(
            chat.owner, chat.conversation_id, "count to three", OPTIONS
        )

        stored = await chat.last()
        assert stored.prompt_tokens == 3 and stored.completion_tokens == 3
        expected = cost_usd("openai", "gpt-4o-mini", Usage(3, 3))
        assert expected > 0
        assert stored.cost_usd == pytest.approx(expected)
        assert stored.latency_ms is not None and stored.latency_ms > 0
        assert stored.completed_at is not None
        assert assistant.cost_usd == stored.cost_usd

    async def test_user_message_is_committed_before_the_provider_answers(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.fail(delay=1.5, path_contains="/chat/completions")
        task = asyncio.create_task(
            chat.harness.ctx.replies.send(chat.owner, chat.conversation_id, "early?", OPTIONS)
        )

        async def seen_by_another_unit_of_work() -> bool:
            return len(await chat.messages()) == 2

        await eventually(seen_by_another_unit_of_work)
        assert not task.done()
        # The upstream call starts just after that commit.
        await eventually(lambda: len(_chat_requests(openai_upstream)) == 1)
        assert not task.done()
        user, assistant = await chat.messages()
        assert (user.role, user.content, user.status) == ("user", "early?", MessageStatus.COMPLETE)
        assert assistant.status == MessageStatus.STREAMING and assistant.content == ""

        await task
        assert (await chat.last()).status == MessageStatus.COMPLETE

    async def test_records_usage(self, chat: Chat, openai_upstream: FakeUpstream) -> None:
        openai_upstream.reply("a b")

        await chat.harness.ctx.replies.send(chat.owner, chat.conversation_id, "x y z", OPTIONS)
        await chat.harness.ctx.recorder.flush()

        summary = await chat.harness.run(lambda s: s.usage.summary(chat.owner))
        assert summary.calls == 1
        assert summary.completion_tokens == 2
        assert summary.by_model[0].provider == "openai_compatible"

    @pytest.mark.parametrize(
        ("status", "kind"),
        [
            (500, ErrorKind.UPSTREAM_UNAVAILABLE),
            (401, ErrorKind.UPSTREAM_REJECTED),
            (429, ErrorKind.RATE_LIMITED),
        ],
    )
    async def test_upstream_error_is_stored_and_raised(
        self, chat: Chat, openai_upstream: FakeUpstream, status: int, kind: ErrorKind
    ) -> None:
        openai_upstream.fail(status=status, path_contains="/chat/completions")

        with pytest.raises(SwitchboardError) as caught:
            await chat.harness.ctx.replies.send(chat.owner, chat.conversation_id, "hi", OPTIONS)

        assert caught.value.kind == kind
        user, assistant = await chat.messages()
        assert user.content == "hi" and user.status == MessageStatus.COMPLETE
        assert assistant.status == MessageStatus.ERROR
        assert assistant.status_reason == caught.value.message
        assert assistant.completed_at is not None

    async def test_wrong_key_error_never_carries_the_key(
        self, harness: Harness, openai_upstream: FakeUpstream
    ) -> None:
        wrong = "sk-wrong-key-0123456789-ABCDEFG"
        chat = await _chat(harness, openai_upstream, api_key=wrong)

        with pytest.raises(SwitchboardError) as caught:
            await harness.ctx.replies.send(chat.owner, chat.conversation_id, "hi", OPTIONS)

        assert caught.value.kind == ErrorKind.UPSTREAM_REJECTED
        stored = await chat.last()
        assert stored.status == MessageStatus.ERROR
        assert wrong not in str(caught.value) and wrong not in (stored.status_reason or "")

    async def test_timeout_is_stored_as_error(
        self, harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
    ) -> None:
        harness = await harness_factory(upstream_timeout_seconds=0.3)
        chat = await _chat(harness, openai_upstream)
        openai_upstream.fail(delay=1.0, status=500, path_contains="/chat/completions")

        with pytest.raises(SwitchboardError) as caught:
            await harness.ctx.replies.send(chat.owner, chat.conversation_id, "hi", OPTIONS)

        assert caught.value.kind == ErrorKind.TIMEOUT
        stored = await chat.last()
        assert stored.status == MessageStatus.ERROR and stored.status_reason

    async def test_malformed_response_is_stored_as_error(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.fail(malformed=True, path_contains="/chat/completions")

        with pytest.raises(SwitchboardError) as caught:
            await chat.harness.ctx.replies.send(chat.owner, chat.conversation_id, "hi", OPTIONS)

        assert caught.value.kind == ErrorKind.UPSTREAM_UNAVAILABLE
        assert (await chat.last()).status == MessageStatus.ERROR

    async def test_stop_keeps_a_partial_reply(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.fail(delay=3.0, status=500, path_contains="/chat/completions")
        runner = chat.harness.ctx.replies
        task = asyncio.create_task(runner.send(chat.owner, chat.conversation_id, "hi", OPTIONS))
        await eventually(lambda: len(_chat_requests(openai_upstream)) == 1)

        assert await runner.stop(chat.owner, chat.conversation_id) is True
        _, assistant = await asyncio.wait_for(task, 2.0)

        assert assistant.status == MessageStatus.PARTIAL
        assert assistant.status_reason == "stopped"
        assert (await chat.last()).status == MessageStatus.PARTIAL

    async def test_cancelled_caller_keeps_the_reply_as_interrupted(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.fail(delay=3.0, status=500, path_contains="/chat/completions")
        runner = chat.harness.ctx.replies
        task = asyncio.create_task(runner.send(chat.owner, chat.conversation_id, "hi", OPTIONS))
        await eventually(lambda: len(_chat_requests(openai_upstream)) == 1)

        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        await runner.drain()
        stored = await chat.last()
        assert stored.status == MessageStatus.PARTIAL
        assert stored.status_reason == "interrupted"
        assert chat.conversation_id not in runner._active


class TestStream:
    async def test_started_deltas_finished(self, chat: Chat, openai_upstream: FakeUpstream) -> None:
        openai_upstream.reply("The quick brown fox")

        events = await _collect(_stream(chat))

        started = events[0]
        assert isinstance(started, ReplyStarted)
        assert started.user_message.content == "hello"
        assert started.assistant_message.status == MessageStatus.STREAMING
        deltas = [e for e in events[1:-1] if isinstance(e, TextDelta)]
        assert len(deltas) >= 2
        finished = _finished(events)
        assert finished.error is None
        assert finished.message.id == started.assistant_message.id
        assert finished.message.status == MessageStatus.COMPLETE
        assert _text(events) == "The quick brown fox" == finished.message.content

    async def test_stored_content_equals_streamed_text(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply(LONG_REPLY)

        events = await _collect(_stream(chat))

        stored = await chat.last()
        assert stored.content == _text(events) == LONG_REPLY
        assert stored.status == MessageStatus.COMPLETE and stored.status_reason is None

    async def test_stores_tokens_cost_and_timings(
        self, harness: Harness, openai_upstream: FakeUpstream
    ) -> None:
        chat = await _chat(harness, openai_upstream, provider="openai", model="gpt-4o-mini")
        openai_upstream.reply("one two three four")

        await _collect(_stream(chat, "a b"))

        stored = await chat.last()
        assert stored.prompt_tokens == 2 and stored.completion_tokens == 4
        assert stored.cost_usd == pytest.approx(cost_usd("openai", "gpt-4o-mini", Usage(2, 4)))
        assert stored.first_token_ms is not None and stored.latency_ms is not None
        assert 0 <= stored.first_token_ms <= stored.latency_ms

    async def test_user_message_is_committed_before_the_provider_answers(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.fail(delay=1.5, path_contains="/chat/completions")
        events = _stream(chat, "early?")

        started = await events.__anext__()
        assert isinstance(started, ReplyStarted)
        pending = asyncio.ensure_future(events.__anext__())
        await eventually(lambda: len(_chat_requests(openai_upstream)) == 1)

        stored = await chat.messages()
        assert not pending.done()
        assert [(m.role, m.status) for m in stored] == [
            ("user", MessageStatus.COMPLETE),
            ("assistant", MessageStatus.STREAMING),
        ]
        await pending
        await _collect(events)

    @pytest.mark.parametrize(
        ("status", "kind"),
        [
            (500, ErrorKind.UPSTREAM_UNAVAILABLE),
            (401, ErrorKind.UPSTREAM_REJECTED),
            (429, ErrorKind.RATE_LIMITED),
        ],
    )
    async def test_upstream_error_before_any_text_is_stored_as_error(
        self, chat: Chat, openai_upstream: FakeUpstream, status: int, kind: ErrorKind
    ) -> None:
        openai_upstream.fail(status=status, path_contains="/chat/completions")

        events = await _collect(_stream(chat))

        finished = _finished(events)
        assert finished.error is not None and finished.error.kind == kind
        assert finished.message.status == MessageStatus.ERROR
        assert finished.message.status_reason == finished.error.message
        stored = await chat.last()
        assert stored.status == MessageStatus.ERROR and stored.content == ""

    async def test_timeout_is_stored_as_error(
        self, harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
    ) -> None:
        harness = await harness_factory(upstream_timeout_seconds=0.3)
        chat = await _chat(harness, openai_upstream)
        openai_upstream.fail(delay=1.0, status=500, path_contains="/chat/completions")

        events = await _collect(_stream(chat))

        finished = _finished(events)
        assert finished.error is not None and finished.error.kind == ErrorKind.TIMEOUT
        assert (await chat.last()).status == MessageStatus.ERROR

    async def test_malformed_chunk_keeps_text_so_far(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply("alpha beta gamma")
        openai_upstream.fail(malformed=True, path_contains="/chat/completions")

        events = await _collect(_stream(chat))

        finished = _finished(events)
        assert finished.error is not None
        assert finished.error.kind == ErrorKind.UPSTREAM_UNAVAILABLE
        stored = await chat.last()
        assert stored.status in (MessageStatus.ERROR, MessageStatus.PARTIAL)
        assert stored.content == _text(events)
        assert stored.status_reason == finished.error.message

    async def test_dropped_connection_keeps_partial_text(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply("alpha beta gamma delta")
        # chunk 0 is the role, 1 and 2 carry "alpha " and "beta ", then the cut
        openai_upstream.fail(drop_after=3, path_contains="/chat/completions")

        events = await _collect(_stream(chat))

        finished = _finished(events)
        assert finished.error is not None
        assert finished.error.kind == ErrorKind.UPSTREAM_UNAVAILABLE
        assert _text(events) == "alpha beta "
        stored = await chat.last()
        assert stored.status == MessageStatus.PARTIAL
        assert stored.content == "alpha beta "
        assert stored.status_reason == finished.error.message

    async def test_consumer_closing_early_keeps_partial_and_closes_upstream(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply(LONG_REPLY)
        openai_upstream.chunk_delay = 0.05
        events = _stream(chat)
        received: list[str] = []
        async for event in events:
            if isinstance(event, TextDelta):
                received.append(event.text)
                if len(received) == 3:
                    break

        await events.aclose()

        # The pump reading the upstream is closed at once, not when garbage-collected.
        assert chat.conversation_id not in chat.harness.ctx.replies._active
        stored = await chat.last()
        assert stored.status == MessageStatus.PARTIAL
        assert stored.status_reason == "client_disconnected"
        assert stored.content == "".join(received)
        # (`in`: a late outcome of an earlier test's request may be in the log too)
        await eventually(lambda: "cancelled" in stream_outcomes(openai_upstream))

    async def test_consumer_closing_after_start_leaves_no_streaming_row(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        events = _stream(chat)
        assert isinstance(await events.__anext__(), ReplyStarted)

        await events.aclose()

        stored = await chat.last()
        assert stored.status == MessageStatus.PARTIAL
        assert stored.status_reason == "client_disconnected"
        assert stored.completed_at is not None

    async def test_stop_mid_stream(self, chat: Chat, openai_upstream: FakeUpstream) -> None:
        openai_upstream.reply(LONG_REPLY)
        openai_upstream.chunk_delay = 0.05
        runner = chat.harness.ctx.replies
        events: list[ReplyEvent] = []
        stopped = False
        async for event in _stream(chat):
            events.append(event)
            if isinstance(event, TextDelta) and not stopped and len(events) >= 4:
                stopped = await runner.stop(chat.owner, chat.conversation_id)
                assert stopped

        finished = _finished(events)
        assert finished.error is None
        assert finished.message.status == MessageStatus.PARTIAL
        assert finished.message.status_reason == "stopped"
        assert 0 < len(finished.message.content) < len(LONG_REPLY)
        assert finished.message.content == _text(events)
        stored = await chat.last()
        assert (stored.status, stored.status_reason) == (MessageStatus.PARTIAL, "stopped")
        await eventually(lambda: "cancelled" in stream_outcomes(openai_upstream))

    async def test_stop_before_the_first_chunk(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.fail(delay=3.0, status=500, path_contains="/chat/completions")
        runner = chat.harness.ctx.replies
        events = _stream(chat)
        assert isinstance(await events.__anext__(), ReplyStarted)
        rest = asyncio.ensure_future(_collect(events))
        await eventually(lambda: len(_chat_requests(openai_upstream)) == 1)

        assert await runner.stop(chat.owner, chat.conversation_id)
        remaining = await asyncio.wait_for(rest, 2.0)

        finished = _finished(remaining)
        assert finished.message.status == MessageStatus.PARTIAL
        assert finished.message.status_reason == "stopped"
        assert finished.message.content == ""

    async def test_history_includes_system_prompt_and_earlier_turns(
        self, harness: Harness, openai_upstream: FakeUpstream
    ) -> None:
        chat = await _chat(harness, openai_upstream, system_prompt="You are terse.")
        openai_upstream.reply("first answer")
        await harness.ctx.replies.send(chat.owner, chat.conversation_id, "first question", OPTIONS)
        openai_upstream.reply("second answer")

        await _collect(
            _stream(chat, "second question", ReplyOptions(source="t", extra_system_prompt="Cite."))
        )

        body = _chat_requests(openai_upstream)[-1].body
        assert body["model"] == "fake-model"
        assert [(m["role"], m["content"]) for m in body["messages"]] == [
            ("system", "You are terse.\n\nCite."),
            ("user", "first question"),
            ("assistant", "first answer"),
            ("user", "second question"),
        ]

    async def test_conversation_settings_and_overrides_reach_the_provider(
        self, harness: Harness, openai_upstream: FakeUpstream
    ) -> None:
        chat = await _chat(
            harness, openai_upstream, settings={"temperature": 0.25, "max_tokens": 50}
        )

        await _collect(_stream(chat, "x", ReplyOptions(source="t", max_tokens=7)))

        body = _chat_requests(openai_upstream)[-1].body
        assert body["temperature"] == 0.25
        assert body.get("max_tokens", body.get("max_completion_tokens")) == 7

    async def test_earlier_error_replies_without_text_are_left_out_of_history(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.fail(status=500, path_contains="/chat/completions")
        await _collect(_stream(chat, "one"))

        await _collect(_stream(chat, "two"))

        body = _chat_requests(openai_upstream)[-1].body
        assert [(m["role"], m["content"]) for m in body["messages"]] == [
            ("user", "one"),
            ("user", "two"),
        ]


class TestStop:
    async def test_nothing_running_is_false(self, chat: Chat) -> None:
        assert await chat.harness.ctx.replies.stop(chat.owner, chat.conversation_id) is False

    async def test_after_the_reply_finished_is_false(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        await _collect(_stream(chat))

        assert await chat.harness.ctx.replies.stop(chat.owner, chat.conversation_id) is False

    async def test_unknown_conversation_is_not_found(self, chat: Chat) -> None:
        with pytest.raises(ConversationNotFound):
            await chat.harness.ctx.replies.stop(chat.owner, "00000000-0000-4000-8000-000000000000")

    async def test_another_user_cannot_stop_it(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply(LONG_REPLY)
        openai_upstream.chunk_delay = 0.02
        intruder = await chat.harness.user("intruder@example.com")
        events: list[ReplyEvent] = []
        async for event in _stream(chat):
            events.append(event)
            if isinstance(event, ReplyStarted):
                with pytest.raises(ConversationNotFound):
                    await chat.harness.ctx.replies.stop(intruder.id, chat.conversation_id)
        assert _finished(events).message.status == MessageStatus.COMPLETE

    async def test_a_stop_through_another_replica_reaches_the_stream(
        self, chat: Chat, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply(LONG_REPLY)
        openai_upstream.chunk_delay = 0.05
        here = chat.harness.ctx
        listener = asyncio.create_task(here.replies.listen_for_stops())
        # With Redis the other replica gets its own connection, as another process would;
        # in-process, replicas can only share the one memory bus.
        redis = chat.harness.settings.redis_url
        other_bus = build_bus(chat.harness.settings) if redis else here.bus
        elsewhere = ReplyRunner(
            here.unit_of_work,
            here.providers,
            here.recorder,
            here.resolver,
            ActiveReplies(),
            other_bus,
            default_model="echo/echo",
        )
        try:
            # This process now has two stop listeners (the app's and this one), and a
            # subscription of its own returns once the bus confirms the channel.
            local = here.bus
            assert isinstance(local, MemoryBus | RedisBus)
            await eventually(lambda: local.subscribers_of(SYSTEM_TOPIC) >= 2)
            await (await here.bus.subscribe([SYSTEM_TOPIC])).close()
            events: list[ReplyEvent] = []
            async for event in _stream(chat):
                events.append(event)
                if isinstance(event, TextDelta) and len(events) == 3:
                    assert await elsewhere.stop(chat.owner, chat.conversation_id)
            finished = _finished(events)
            assert (finished.message.status, finished.message.status_reason) == (
                MessageStatus.PARTIAL,
                "stopped",
            )
        finally:
            listener.cancel()
            if redis:
                await other_bus.aclose()


class TestEchoProvider:
    async def test_default_model_needs_no_configuration(self, harness: Harness) -> None:
        user = await harness.user("echo@example.com")
        created = await harness.run(lambda s: s.conversations.create(user.id, ConversationCreate()))

        _, assistant = await harness.ctx.replies.send(user.id, created.id, "ping", OPTIONS)

        assert assistant.content == "Echo: ping"
        assert (assistant.provider, assistant.model) == ("echo", "echo")
        assert assistant.status == MessageStatus.COMPLETE
