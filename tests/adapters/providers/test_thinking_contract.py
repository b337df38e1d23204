"""Contract: every adapter asks for the model's reasoning when `request.reasoning` is set
and returns it apart from the answer: `ChatResult.thinking`, or `ThinkingDelta`s."""

from __future__ import annotations

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.core.llm import (
    ChatMessage,
    ChatRequest,
    FinishReason,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
)
from tests.adapters.providers.contract_kit import (
    VENDORS,
    Vendor,
    arguments,
    end_of,
    streamed_calls,
    text_of,
    thinking_asked,
    thinking_of,
    vendor_under_test,
)
from tests.adapters.providers.vendor_kit import collect
from tests.fixtures.upstreams.script import Call

PROMPT = "why is the sky blue?"
THOUGHT = f"Thinking about: {PROMPT}"


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest, vendor_clients: OutboundClients) -> Vendor:
    """Each vendor adapter on its fake."""
    return vendor_under_test(request.param, request, vendor_clients)


@pytest.fixture(params=[*VENDORS, "echo"])
def any_vendor(request: pytest.FixtureRequest, vendor_clients: OutboundClients) -> Vendor:
    """Each vendor adapter on its fake, and the built-in echo."""
    return vendor_under_test(request.param, request, vendor_clients)


def ask(vendor: Vendor, reasoning: str | None = "medium") -> ChatRequest:
    """One user question, with reasoning asked for (or not)."""
    return vendor.request([ChatMessage("user", PROMPT)], reasoning=reasoning)


class TestBlocking:
    async def test_thinking_comes_apart_from_the_answer(self, any_vendor: Vendor) -> None:
        result = await any_vendor.provider.chat(ask(any_vendor))
        assert result.thinking == THOUGHT
        assert result.text and "Thinking" not in result.text
        assert result.finish_reason is FinishReason.STOP

    async def test_no_thinking_unless_asked(self, any_vendor: Vendor) -> None:
        result = await any_vendor.provider.chat(ask(any_vendor, None))
        assert result.thinking == ""
        if any_vendor.upstream is not None:
            assert thinking_asked(any_vendor.name, any_vendor.sent()) is None

    async def test_the_vendor_is_asked_to_think(self, vendor: Vendor) -> None:
        await vendor.provider.chat(ask(vendor, "high"))
        asked = thinking_asked(vendor.name, vendor.sent())
        expected = {
            "openai": "high",
            "anthropic": {"type": "enabled", "budget_tokens": 16384},
            "gemini": {"includeThoughts": True, "thinkingBudget": 24576},
            "ollama": True,
        }
        assert asked == expected[vendor.name]

    async def test_scripted_thinking_before_tool_calls(self, vendor: Vendor) -> None:
        request = vendor.asking_for(Call("get_weather", {"city": "Oslo"}), thinking="plan: call")
        result = await vendor.provider.chat(request)
        assert result.thinking == "plan: call"
        assert [c.name for c in result.tool_calls] == ["get_weather"]
        assert result.finish_reason is FinishReason.TOOL_CALLS


class TestStreamed:
    async def test_thinking_streams_before_the_answer(self, any_vendor: Vendor) -> None:
        events = await collect(any_vendor.provider, ask(any_vendor))
        kinds = [type(e) for e in events if isinstance(e, TextDelta | ThinkingDelta)]
        assert kinds[0] is ThinkingDelta
        assert kinds.index(TextDelta) > kinds.index(ThinkingDelta)
        assert ThinkingDelta not in kinds[kinds.index(TextDelta) :]
        assert thinking_of(events) == THOUGHT
        assert end_of(events).finish_reason is FinishReason.STOP

    async def test_stream_and_blocking_agree(self, any_vendor: Vendor) -> None:
        blocking = await any_vendor.provider.chat(ask(any_vendor))
        events = await collect(any_vendor.provider, ask(any_vendor))
        assert (thinking_of(events), text_of(events)) == (blocking.thinking, blocking.text)

    async def test_no_thinking_deltas_unless_asked(self, any_vendor: Vendor) -> None:
        events = await collect(any_vendor.provider, ask(any_vendor, None))
        assert not any(isinstance(e, ThinkingDelta) for e in events)

    async def test_thinking_then_tool_calls(self, any_vendor: Vendor) -> None:
        call = Call("get_weather", {"city": "Oslo"})
        request = any_vendor.asking_for(call, thinking="plan: call", reasoning="low")
        events = await collect(any_vendor.provider, request)
        first_call = next(i for i, e in enumerate(events) if isinstance(e, ToolCallDelta))
        assert all(not isinstance(e, ThinkingDelta) for e in events[first_call:])
        assert thinking_of(events[:first_call])
        assert [arguments(c) for c in streamed_calls(events)] == [{"city": "Oslo"}]
        assert end_of(events).finish_reason is FinishReason.TOOL_CALLS
