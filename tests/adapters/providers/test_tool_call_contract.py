"""Contract: every adapter offers tools, returns tool calls (blocking and streamed) and
replays a tool-use turn in its vendor's format, each against its own fake."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.core.llm import ChatMessage, FinishReason, ToolCall, ToolCallDelta
from tests.adapters.providers.contract_kit import (
    TOOLS,
    VENDORS,
    Vendor,
    arguments,
    end_of,
    offered_tools,
    replayed_results,
    streamed_calls,
    vendor_under_test,
)
from tests.adapters.providers.vendor_kit import WEATHER, collect
from tests.fixtures.upstreams.script import Call

PARIS = Call("get_weather", {"city": "Paris"})
CET = Call("get_time", {"zone": "Europe/Berlin"})
# Long enough that vendors which stream arguments in pieces send several.
LONG = Call("get_weather", {"city": "Llanfairpwllgwyngyll, a village on Anglesey"})


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest, vendor_clients: OutboundClients) -> Vendor:
    """Each vendor adapter on its fake."""
    return vendor_under_test(request.param, request, vendor_clients)


@pytest.fixture(params=[*VENDORS, "echo"])
def any_vendor(request: pytest.FixtureRequest, vendor_clients: OutboundClients) -> Vendor:
    """Each vendor adapter on its fake, and the built-in echo."""
    return vendor_under_test(request.param, request, vendor_clients)


def sent_choice(vendor: str, body: dict[str, Any]) -> Any:
    """The tool choice a vendor's request body carries."""
    return body.get("toolConfig" if vendor == "gemini" else "tool_choice")


def history(first: ToolCall, *results: tuple[ToolCall, str]) -> list[ChatMessage]:
    """A user question, the assistant's calls and one tool message per result."""
    calls = tuple(call for call, _ in results) or (first,)
    return [
        ChatMessage("user", "what is the weather?"),
        ChatMessage("assistant", "", tool_calls=calls),
        *(ChatMessage("tool", result, tool_call_id=call.id) for call, result in results),
    ]


class TestBlocking:
    async def test_a_tool_call_comes_back(self, any_vendor: Vendor) -> None:
        result = await any_vendor.provider.chat(any_vendor.asking_for(PARIS))
        assert result.finish_reason is FinishReason.TOOL_CALLS
        [call] = result.tool_calls
        assert call.id and call.name == "get_weather"
        assert arguments(call) == {"city": "Paris"}

    async def test_several_calls_in_one_reply(self, vendor: Vendor) -> None:
        result = await vendor.provider.chat(vendor.asking_for(PARIS, CET))
        assert result.finish_reason is FinishReason.TOOL_CALLS
        assert [(c.name, arguments(c)) for c in result.tool_calls] == [
            ("get_weather", {"city": "Paris"}),
            ("get_time", {"zone": "Europe/Berlin"}),
        ]
        assert len({c.id for c in result.tool_calls}) == 2

    async def test_tools_are_offered_in_the_vendor_format(self, vendor: Vendor) -> None:
        await vendor.provider.chat(vendor.asking_for(PARIS))
        assert offered_tools(vendor.name, vendor.sent()) == ["get_weather", "get_time"]

    async def test_a_named_tool_choice_reaches_the_vendor(self, vendor: Vendor) -> None:
        choice = {"type": "function", "function": {"name": "get_time"}}
        await vendor.provider.chat(vendor.asking_for(CET, tool_choice=choice))
        assert (
            sent_choice(vendor.name, vendor.sent())
            == {
                "openai": choice,
                "anthropic": {"type": "tool", "name": "get_time"},
                "gemini": {
                    "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}
                },
                # Ollama has no tool_choice: the tools are offered as they are.
                "ollama": None,
            }[vendor.name]
        )

    async def test_tool_choice_none_offers_nothing_to_call(self, vendor: Vendor) -> None:
        assert vendor.upstream is not None
        vendor.upstream.replies.append("no tools today")
        request = vendor.request([ChatMessage("user", "hi")], tools=[WEATHER], tool_choice="none")
        result = await vendor.provider.chat(request)
        assert result.finish_reason is FinishReason.STOP
        assert result.tool_calls == ()


class TestStreamed:
    async def test_a_tool_call_streams_as_deltas(self, any_vendor: Vendor) -> None:
        events = await collect(any_vendor.provider, any_vendor.asking_for(PARIS))
        [call] = streamed_calls(events)
        assert call.id and call.name == "get_weather"
        assert arguments(call) == {"city": "Paris"}
        assert end_of(events).finish_reason is FinishReason.TOOL_CALLS

    async def test_several_calls_stream_under_their_own_index(self, vendor: Vendor) -> None:
        events = await collect(vendor.provider, vendor.asking_for(PARIS, CET))
        calls = streamed_calls(events)
        assert [(c.name, arguments(c)) for c in calls] == [
            ("get_weather", {"city": "Paris"}),
            ("get_time", {"zone": "Europe/Berlin"}),
        ]
        assert len({c.id for c in calls}) == 2
        assert end_of(events).finish_reason is FinishReason.TOOL_CALLS

    async def test_stream_and_blocking_agree(self, any_vendor: Vendor) -> None:
        blocking = await any_vendor.provider.chat(any_vendor.asking_for(PARIS))
        events = await collect(any_vendor.provider, any_vendor.asking_for(PARIS))
        streamed = streamed_calls(events)
        assert [(c.name, arguments(c)) for c in streamed] == [
            (c.name, arguments(c)) for c in blocking.tool_calls
        ]

    @pytest.mark.parametrize("name", ["openai", "anthropic"])
    async def test_arguments_arrive_in_fragments(
        self, name: str, request: pytest.FixtureRequest, vendor_clients: OutboundClients
    ) -> None:
        vendor = vendor_under_test(name, request, vendor_clients)
        events = await collect(vendor.provider, vendor.asking_for(LONG))
        pieces = [e for e in events if isinstance(e, ToolCallDelta)]
        assert len([p for p in pieces if p.arguments]) > 1
        assert all(p.id is None and p.name is None for p in pieces[1:])
        assert arguments(streamed_calls(events)[0]) == LONG.arguments


class TestReplay:
    async def test_results_reach_the_vendor_after_a_round_trip(self, vendor: Vendor) -> None:
        first = await vendor.provider.chat(vendor.asking_for(PARIS, CET))
        weather, clock = first.tool_calls
        messages = history(weather, (weather, "sunny"), (clock, "noon"))
        result = await vendor.provider.chat(vendor.request(messages, tools=TOOLS))
        assert result.finish_reason is FinishReason.STOP
        assert replayed_results(vendor.name, vendor.sent()) == [
            ("get_weather", "sunny"),
            ("get_time", "noon"),
        ]

    async def test_streamed_calls_replay_too(self, vendor: Vendor) -> None:
        [call] = streamed_calls(await collect(vendor.provider, vendor.asking_for(PARIS)))
        messages = history(call, (call, "sunny"))
        events = await collect(vendor.provider, vendor.request(messages, tools=TOOLS))
        assert end_of(events).finish_reason is FinishReason.STOP
        assert replayed_results(vendor.name, vendor.sent()) == [("get_weather", "sunny")]

    async def test_each_turn_answers_its_own_calls(self, vendor: Vendor) -> None:
        # Vendors without call ids get made-up ones, which repeat from turn to turn.
        weather = (await vendor.provider.chat(vendor.asking_for(PARIS))).tool_calls[0]
        clock = (await vendor.provider.chat(vendor.asking_for(CET))).tool_calls[0]
        messages = [
            *history(weather, (weather, "sunny")),
            ChatMessage("assistant", "It is sunny."),
            ChatMessage("user", "and the time?"),
            ChatMessage("assistant", "", tool_calls=(clock,)),
            ChatMessage("tool", "noon", tool_call_id=clock.id),
        ]
        await vendor.provider.chat(vendor.request(messages, tools=TOOLS))
        assert replayed_results(vendor.name, vendor.sent()) == [
            ("get_weather", "sunny"),
            ("get_time", "noon"),
        ]

    async def test_the_model_reads_the_results(self, any_vendor: Vendor) -> None:
        call = (await any_vendor.provider.chat(any_vendor.asking_for(PARIS))).tool_calls[0]
        messages = history(call, (call, "sunny"))
        if any_vendor.upstream is not None and any_vendor.name == "openai":
            any_vendor.upstream.replies.append("tool said: sunny")  # it answers from a script
        result = await any_vendor.provider.chat(any_vendor.request(messages, tools=TOOLS))
        assert "sunny" in result.text
