"""Turns through the reply runner: each responder, its parts stored and replayed, its
events on the bus, and stop, client disconnect and server shutdown at every stage.

The provider is scripted (`tests.core.turns.scripted`), so that a reply can be held at
an exact point: before any text, in the middle of the text, while a tool runs, and
during the model's second call. The last test relays a reply through a desktop bridge.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from switchboard.core.conversations.active import ActiveReplies
from switchboard.core.conversations.errors import ShuttingDown
from switchboard.core.conversations.runner import (
    ReplyEvent,
    ReplyFinished,
    ReplyOptions,
    ReplyRunner,
    ReplyStarted,
)
from switchboard.core.conversations.schemas import ConversationCreate, MessageRead, MessageStatus
from switchboard.core.events.schemas import Event, session_topic
from switchboard.core.llm import TextDelta
from switchboard.core.providers.ports import ChatProvider, ProviderEndpoint, ProviderFactory
from switchboard.core.turns.agent import AgentLoop
from switchboard.core.turns.events import ToolFinished, ToolStarted
from tests.core.turns.scripted import Hold, ScriptedProvider, Step, Tools, calls_tool, says
from tests.fixtures.app import Harness
from tests.fixtures.bridge import ForwardingDesktop
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.waiting import eventually

STAGES = ["before_text", "mid_text", "in_tool", "second_call"]
ACTIONS = ["stop", "disconnect", "shutdown"]
REASONS = {"stop": "stopped", "disconnect": "interrupted", "shutdown": "server_shutdown"}
OPENING = "Let me check. "


class ScriptedFactory:
    """A provider factory that serves every endpoint with one scripted provider."""

    def __init__(self, provider: ScriptedProvider) -> None:
        self.scripted = provider

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        return self.scripted

    async def aclose(self) -> None:
        return None


@dataclass
class Scene:
    """A user's conversation, a runner over a scripted provider, and the holds."""

    harness: Harness
    runner: ReplyRunner
    owner: str
    conversation_id: str
    provider: ScriptedProvider

    async def last(self) -> MessageRead:
        page = await self.harness.run(
            lambda s: s.conversations.messages(self.owner, self.conversation_id, limit=100)
        )
        message: MessageRead = page.items[-1]
        return message

    def stream(self, options: ReplyOptions, content: str = "what is 2+3?") -> Any:
        return self.runner.stream(self.owner, self.conversation_id, content, options)


async def _scene(harness: Harness, *calls: list[Step]) -> Scene:
    user = await harness.user("turns@example.com")
    created = await harness.run(
        lambda s: s.conversations.create(user.id, ConversationCreate(provider="echo", model="echo"))
    )
    provider = ScriptedProvider(*calls)
    ctx = harness.ctx
    runner = ReplyRunner(
        ctx.unit_of_work,
        dataclasses.replace(ctx.providers, factory=ScriptedFactory(provider)),
        ctx.recorder,
        ctx.resolver,
        ActiveReplies(),
        ctx.bus,
        default_model="echo/echo",
    )
    return Scene(harness, runner, user.id, created.id, provider)


def _agent(tools: Tools) -> ReplyOptions:
    return ReplyOptions(source="test", responder=AgentLoop(tools))


async def add(arguments: str) -> str:
    return "5"


async def _collect(
    events: AsyncIterator[ReplyEvent], seen: list[ReplyEvent] | None = None
) -> list[ReplyEvent]:
    seen = [] if seen is None else seen
    async for event in events:
        seen.append(event)
    return seen


async def _delivered(seen: list[ReplyEvent], text: str) -> None:
    """Wait until the consumer got `text`: what a client was sent is what is kept."""
    await eventually(lambda: "".join(e.text for e in seen if isinstance(e, TextDelta)) == text)


class TestAgentTurn:
    async def test_tool_events_reach_the_consumer_and_parts_are_stored(
        self, harness: Harness
    ) -> None:
        scene = await _scene(harness, [TextDelta(OPENING), *calls_tool("add", "{}")], says("5."))

        events = await _collect(scene.stream(_agent(Tools(add=add))))

        kinds = [type(e).__name__ for e in events]
        assert kinds[0] == "ReplyStarted" and kinds[-1] == "ReplyFinished"
        assert kinds.index("ToolStarted") < kinds.index("ToolFinished")
        stored = await scene.last()
        assert stored.status == MessageStatus.COMPLETE
        assert stored.content == OPENING + "5."
        assert stored.prompt_tokens == 20  # both model calls counted
        assert [p["type"] for p in stored.parts or []] == [
            "text",
            "tool_call",
            "tool_result",
            "text",
        ]

    async def test_history_replays_tool_calls_and_results(self, harness: Harness) -> None:
        scene = await _scene(
            harness, calls_tool("add", '{"a": 2}'), says("5."), says("You are welcome.")
        )
        await _collect(scene.stream(_agent(Tools(add=add))))

        await _collect(scene.stream(ReplyOptions(source="test"), "thanks"))

        replayed = scene.provider.requests[2].messages
        assert [m.role for m in replayed] == ["user", "assistant", "tool", "assistant", "user"]
        assert replayed[1].tool_calls[0].arguments == '{"a": 2}'
        assert replayed[2].content == "5"
        assert replayed[2].tool_call_id == "call_1"

    async def test_blocking_send_runs_the_loop(self, harness: Harness) -> None:
        scene = await _scene(harness, calls_tool("add", "{}"), says("It is 5."))

        _, reply = await scene.runner.send(
            scene.owner, scene.conversation_id, "2+3?", _agent(Tools(add=add))
        )

        assert (reply.status, reply.content) == (MessageStatus.COMPLETE, "It is 5.")
        assert reply.parts is not None and reply.parts[1]["content"] == "5"
        assert reply.first_token_ms is None  # nothing was streamed

    async def test_a_failing_tool_does_not_fail_the_turn(self, harness: Harness) -> None:
        async def broken(_arguments: str) -> str:
            raise ValueError("no such city")

        scene = await _scene(harness, calls_tool("weather", "{}"), says("I could not tell."))
        events = await _collect(scene.stream(_agent(Tools(weather=broken))))

        finished = next(e for e in events if isinstance(e, ToolFinished))
        assert finished.error == "ValueError: no such city"
        assert (await scene.last()).status == MessageStatus.COMPLETE


class TestBusEvents:
    async def test_a_watcher_follows_the_turn_on_the_session_topic(self, harness: Harness) -> None:
        scene = await _scene(harness, [TextDelta(OPENING), *calls_tool("add", "{}")], says("5."))
        subscription = await harness.ctx.bus.subscribe([session_topic(scene.conversation_id)])
        try:
            events = await _collect(scene.stream(_agent(Tools(add=add))))
            seen = await _until_finished(subscription)
        finally:
            await subscription.close()

        types = [e.type for e in seen]
        assert types[0] == "turn.started" and types[-1] == "turn.finished"
        assert types.index("turn.tool_started") < types.index("turn.tool_finished")
        text = "".join(e.data["text"] for e in seen if e.type == "turn.delta")
        assert text == OPENING + "5."
        assert seen[-1].data["status"] == "complete"
        started = events[0]
        assert isinstance(started, ReplyStarted)
        assert {e.data["message_id"] for e in seen} == {started.assistant_message.id}

    async def test_a_stopped_turn_finishes_with_its_status(self, harness: Harness) -> None:
        hold = Hold()
        scene = await _scene(harness, [TextDelta("Hel"), hold, *says("lo")])
        subscription = await harness.ctx.bus.subscribe([session_topic(scene.conversation_id)])
        try:
            consumer = asyncio.create_task(_collect(scene.stream(ReplyOptions(source="t"))))
            await hold.reached.wait()
            await scene.runner.stop(scene.owner, scene.conversation_id)
            await consumer
            seen = await _until_finished(subscription)
        finally:
            await subscription.close()
        assert seen[-1].data | {"message_id": None} == {
            "message_id": None,
            "status": "partial",
            "reason": "stopped",
        }
        assert "".join(e.data["text"] for e in seen if e.type == "turn.delta") == "Hel"


async def _until_finished(subscription: Any) -> list[Event]:
    seen: list[Event] = []
    async with asyncio.timeout(5):
        async for event in subscription:
            seen.append(event)
            if event.type == "turn.finished":
                return seen
    raise AssertionError("no turn.finished")


def _agent_script(stage: str, hold: Hold) -> tuple[list[list[Step]], Tools, str]:
    """Calls and tools that park the agent turn at `stage`, and the text said before it."""

    async def tool(_arguments: str) -> str:
        if stage == "in_tool":
            await hold.wait()
        return "5"

    opening = [TextDelta(OPENING), *calls_tool("add", "{}")]
    if stage == "before_text":
        return [[hold, *opening]], Tools(add=tool), ""
    if stage == "mid_text":
        return [[TextDelta(OPENING), hold, *calls_tool("add", "{}")]], Tools(add=tool), OPENING
    if stage == "in_tool":
        return [opening], Tools(add=tool), OPENING
    second = [TextDelta("The answer"), hold, *says(" is 5.")]
    return [opening, second], Tools(add=tool), OPENING + "The answer"


async def _interrupt(scene: Scene, action: str, consumer: asyncio.Task[Any]) -> list[Any] | None:
    """Do `action` to the turn in flight; the consumer's events, when it got to the end."""
    if action == "stop":
        assert await scene.runner.stop(scene.owner, scene.conversation_id) is True
        events: list[Any] = await consumer
        return events
    if action == "shutdown":
        assert scene.runner.interrupt_all() == 1
        events = await consumer
        return events
    consumer.cancel()  # the client went away: its response task is cancelled
    with pytest.raises(asyncio.CancelledError):
        await consumer
    await scene.runner.drain()
    return None


def _check_ending(events: list[Any] | None, action: str) -> None:
    if events is None:
        return
    finished = events[-1]
    assert isinstance(finished, ReplyFinished)
    assert finished.message.status == MessageStatus.PARTIAL
    if action == "shutdown":
        assert isinstance(finished.error, ShuttingDown)
    else:
        assert finished.error is None


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("stage", STAGES)
async def test_agent_turn_interrupted_keeps_what_was_said(
    harness: Harness, stage: str, action: str
) -> None:
    hold = Hold()
    calls, tools, said = _agent_script(stage, hold)
    scene = await _scene(harness, *calls)
    seen: list[ReplyEvent] = []
    consumer = asyncio.create_task(_collect(scene.stream(_agent(tools)), seen))
    await hold.reached.wait()
    await _delivered(seen, said)
    if stage in ("in_tool", "second_call"):
        done = ToolFinished if stage == "second_call" else ToolStarted
        await eventually(lambda: any(isinstance(e, done) for e in seen))

    events = await _interrupt(scene, action, consumer)

    _check_ending(events, action)
    stored = await scene.last()
    assert (stored.status, stored.status_reason) == (MessageStatus.PARTIAL, REASONS[action])
    assert stored.content == said
    assert hold.cancelled  # the model call or the tool in flight was cancelled
    if stage in ("in_tool", "second_call"):
        types = [p["type"] for p in stored.parts or []]
        assert "tool_call" in types
        assert ("tool_result" in types) == (stage == "second_call")
    assert scene.conversation_id not in scene.runner._active


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("stage", ["before_text", "mid_text"])
async def test_single_call_interrupted_keeps_what_was_said(
    harness: Harness, stage: str, action: str
) -> None:
    hold = Hold()
    said = "" if stage == "before_text" else "Hel"
    script: list[Step] = [hold, *says("Hello")] if not said else [TextDelta(said), hold]
    scene = await _scene(harness, script)
    seen: list[ReplyEvent] = []
    consumer = asyncio.create_task(_collect(scene.stream(ReplyOptions(source="test")), seen))
    await hold.reached.wait()
    await _delivered(seen, said)

    events = await _interrupt(scene, action, consumer)

    _check_ending(events, action)
    stored = await scene.last()
    assert (stored.status, stored.status_reason) == (MessageStatus.PARTIAL, REASONS[action])
    assert stored.content == said
    assert hold.cancelled
    assert scene.provider.closed_early == 1


@pytest.mark.parametrize("action", ["stop", "shutdown"])
async def test_blocking_agent_turn_stopped_in_its_tool(harness: Harness, action: str) -> None:
    hold = Hold()
    calls, tools, said = _agent_script("in_tool", hold)
    scene = await _scene(harness, *calls)
    sending = asyncio.create_task(
        scene.runner.send(scene.owner, scene.conversation_id, "2+3?", _agent(tools))
    )
    await hold.reached.wait()

    if action == "stop":
        await scene.runner.stop(scene.owner, scene.conversation_id)
        _, reply = await sending
        assert (reply.status, reply.content) == (MessageStatus.PARTIAL, said)
    else:
        scene.runner.interrupt_all()
        with pytest.raises(ShuttingDown):
            await sending
    assert hold.cancelled
    assert (await scene.last()).status_reason == REASONS[action]


async def test_tool_events_are_yielded_in_order(harness: Harness) -> None:
    scene = await _scene(harness, calls_tool("add", "{}"), says("5"))
    events = await _collect(scene.stream(_agent(Tools(add=add))))
    tool_events = [e for e in events if isinstance(e, ToolStarted | ToolFinished)]
    assert [type(e).__name__ for e in tool_events] == ["ToolStarted", "ToolFinished"]


class ThroughBridge:
    """A provider factory that reaches every endpoint as Ollama on the desktop `bridge_id`."""

    def __init__(self, inner: ProviderFactory, bridge_id: str) -> None:
        self._inner = inner
        self._bridge_id = bridge_id

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        return self._inner.provider(
            ProviderEndpoint(kind="ollama", provider="ollama", bridge_id=self._bridge_id)
        )

    async def aclose(self) -> None:
        return None


async def test_a_turn_relayed_by_a_desktop_bridge_is_stopped_there(
    harness: Harness, ollama_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay through a desktop is an ordinary provider: a stop reaches the desktop,
    which ends its own request to Ollama, and the text so far is kept."""
    ollama_upstream.reply(" ".join(f"w{i}" for i in range(400)))
    ollama_upstream.chunk_delay = 0.01
    # The conversation's model, pulled on the desktop.
    monkeypatch.setattr(ollama_upstream, "models", [*ollama_upstream.models, "echo"])
    scene = await _scene(harness)
    ctx = harness.ctx
    setup = dataclasses.replace(ctx.providers, factory=ThroughBridge(ctx.providers.factory, "d1"))
    scene.runner = ReplyRunner(
        ctx.unit_of_work,
        setup,
        ctx.recorder,
        ctx.resolver,
        ActiveReplies(),
        ctx.bus,
        default_model="echo/echo",
    )
    async with ForwardingDesktop(ctx.bridges, "d1", ollama_upstream.url) as desktop:
        seen: list[ReplyEvent] = []
        consumer = asyncio.create_task(_collect(scene.stream(ReplyOptions(source="t")), seen))
        await eventually(lambda: any(isinstance(e, TextDelta) for e in seen))
        await scene.runner.stop(scene.owner, scene.conversation_id)
        await consumer

        assert desktop.cancelled == [desktop.requests[-1].id]
    stored = await scene.last()
    assert (stored.status, stored.status_reason) == (MessageStatus.PARTIAL, "stopped")
    assert stored.content.startswith("w0")
