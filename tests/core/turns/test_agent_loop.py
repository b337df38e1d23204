"""The agent loop and the single-call responder, on a scripted provider (no database)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from switchboard.core.errors import Timeout
from switchboard.core.llm import ChatMessage, ChatRequest, StreamEnd, TextDelta, ThinkingDelta
from switchboard.core.turns.agent import AgentLoop, TurnTimeLimit
from switchboard.core.turns.events import ToolFinished, ToolStarted, TurnEvent, UsageReport
from switchboard.core.turns.ports import Turn
from switchboard.core.turns.single import SingleCall
from tests.core.turns.scripted import Hold, ScriptedProvider, Tools, calls_tool, says

REQUEST = ChatRequest(model="scripted", messages=[ChatMessage("user", "what is 2+3?")])


async def _events(responder: Any, provider: ScriptedProvider, *, stream: bool) -> list[Any]:
    return [e async for e in responder.respond(Turn(provider, REQUEST, stream=stream))]


async def add(arguments: str) -> str:
    values = json.loads(arguments)
    return str(values["a"] + values["b"])


def _kinds(events: list[TurnEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


@pytest.mark.parametrize("stream", [True, False])
class TestAgentLoop:
    async def test_runs_the_tool_and_feeds_its_result_back(self, stream: bool) -> None:
        provider = ScriptedProvider(calls_tool("add", '{"a": 2, "b": 3}'), says("It is ", "5."))
        tools = Tools(add=add)

        events = await _events(AgentLoop(tools), provider, stream=stream)

        started = next(e for e in events if isinstance(e, ToolStarted))
        finished = next(e for e in events if isinstance(e, ToolFinished))
        assert (started.name, json.loads(started.arguments)) == ("add", {"a": 2, "b": 3})
        assert (finished.call_id, finished.result, finished.error) == ("call_1", "5", None)
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "It is 5."
        second = provider.requests[1].messages
        assert [m.role for m in second] == ["user", "assistant", "tool"]
        assert second[1].tool_calls[0].arguments == '{"a": 2, "b": 3}'
        assert (second[2].tool_call_id, second[2].content) == ("call_1", "5")
        assert [t.name for t in provider.requests[0].tools or []] == ["add"]

    async def test_reports_usage_of_every_model_call(self, stream: bool) -> None:
        provider = ScriptedProvider(calls_tool("add", '{"a": 1, "b": 1}'), says("2"))
        events = await _events(AgentLoop(Tools(add=add)), provider, stream=stream)
        usages = [e.usage for e in events if isinstance(e, UsageReport)]
        assert [(u.prompt_tokens, u.completion_tokens) for u in usages] == [(10, 5), (10, 3)]

    async def test_a_tool_that_raises_becomes_an_error_result(self, stream: bool) -> None:
        async def broken(_arguments: str) -> str:
            raise RuntimeError("disk on fire")

        provider = ScriptedProvider(calls_tool("broken", "{}"), says("Sorry, it failed."))
        events = await _events(AgentLoop(Tools(broken=broken)), provider, stream=stream)

        finished = next(e for e in events if isinstance(e, ToolFinished))
        assert finished.result is None
        assert finished.error == "RuntimeError: disk on fire"
        assert provider.requests[1].messages[-1].content == "Error: RuntimeError: disk on fire"
        assert isinstance(events[-1], UsageReport)  # the turn went on to the answer

    async def test_an_unknown_tool_is_an_error_result_too(self, stream: bool) -> None:
        provider = ScriptedProvider(calls_tool("nope", "{}"), says("ok"))
        events = await _events(AgentLoop(Tools(add=add)), provider, stream=stream)
        finished = next(e for e in events if isinstance(e, ToolFinished))
        assert finished.error is not None and "KeyError" in finished.error

    async def test_after_the_step_limit_the_model_must_answer(self, stream: bool) -> None:
        provider = ScriptedProvider(
            calls_tool("add", '{"a": 1, "b": 1}', call_id="c1"),
            calls_tool("add", '{"a": 2, "b": 2}', call_id="c2"),
            says("I stop here."),
        )
        events = await _events(AgentLoop(Tools(add=add), max_steps=2), provider, stream=stream)

        assert _kinds(events).count("ToolFinished") == 2
        assert provider.requests[2].tools is None  # the last call offers none
        assert events[-2] == TextDelta("I stop here.")

    async def test_the_time_limit_ends_the_turn(self, stream: bool) -> None:
        hold = Hold()

        async def slow(_arguments: str) -> str:
            await hold.wait()
            return "late"

        provider = ScriptedProvider(calls_tool("slow", "{}"))
        loop = AgentLoop(Tools(slow=slow), max_seconds=0.05)
        with pytest.raises(TurnTimeLimit) as caught:
            await _events(loop, provider, stream=stream)
        assert isinstance(caught.value, Timeout)
        assert hold.cancelled  # the tool was stopped with the turn

    async def test_thinking_passes_through(self, stream: bool) -> None:
        provider = ScriptedProvider([ThinkingDelta("hmm"), *says("5")])
        events = await _events(AgentLoop(Tools(add=add)), provider, stream=stream)
        assert events[0] == ThinkingDelta("hmm")


async def test_without_tools_nothing_is_offered() -> None:
    provider = ScriptedProvider(says("hi"))
    await _events(AgentLoop(Tools()), provider, stream=True)
    assert provider.requests[0].tools is None


async def test_closing_the_loop_mid_tool_cancels_the_tool() -> None:
    hold = Hold()

    async def waits(_arguments: str) -> str:
        await hold.wait()
        return "never"

    provider = ScriptedProvider(calls_tool("waits", "{}"))
    events = AgentLoop(Tools(waits=waits)).respond(Turn(provider, REQUEST))
    assert isinstance(await anext(events), UsageReport)
    assert isinstance(await anext(events), ToolStarted)
    nxt = asyncio.ensure_future(anext(events))
    await hold.reached.wait()
    nxt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await nxt
    assert hold.cancelled


@pytest.mark.parametrize("stream", [True, False])
async def test_single_call_is_one_provider_call(stream: bool) -> None:
    provider = ScriptedProvider([ThinkingDelta("let me see"), *says("He", "llo")])
    events = await _events(SingleCall(), provider, stream=stream)

    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Hello"
    assert ThinkingDelta("let me see") in events
    assert isinstance(events[-1], UsageReport)
    assert len(provider.requests) == 1 and provider.requests[0].tools is None
    assert not any(isinstance(e, StreamEnd) for e in events)
