"""Contract tests: the Anthropic adapter against a fake Anthropic API over loopback HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.anthropic import AnthropicProvider
from switchboard.core.errors import (
    Invalid,
    RateLimited,
    SwitchboardError,
    Timeout,
    UpstreamRejected,
    UpstreamUnavailable,
)
from switchboard.core.llm import (
    ChatMessage,
    ChatRequest,
    ContentPart,
    FinishReason,
    ImagePart,
    StreamEnd,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
)
from switchboard.core.providers.ports import EmbeddingProvider, ImageProvider
from tests.adapters.providers.vendor_kit import WEATHER, chat_request, collect, fake_endpoint
from tests.fixtures.network import refusing_port
from tests.fixtures.upstreams.anthropic_fake import stream_log
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.waiting import eventually

KEY = "test-key"


def provider(
    upstream: FakeUpstream,
    clients: OutboundClients,
    *,
    key: str | None = KEY,
    base_url: str | None = None,
    timeout: float = 5.0,
    trusted: bool = True,
) -> AnthropicProvider:
    endpoint = fake_endpoint("anthropic", upstream, key=key, base_url=base_url, trusted=trusted)
    return AnthropicProvider(endpoint, clients, timeout=timeout, connect_timeout=2.0)


def ask(text: str = "hello there", **kwargs: object) -> ChatRequest:
    return chat_request("claude-fake", text, **kwargs)


class TestListModels:
    async def test_lists_every_model(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        models = await provider(anthropic_upstream, vendor_clients).list_models()
        assert [m.id for m in models] == ["claude-fake", "claude-fake-2"]
        assert models[0].provider == "anthropic"
        assert models[0].name == "Claude Fake"
        assert models[0].context_window == 200000

    async def test_follows_pages(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        saved = anthropic_upstream.models
        anthropic_upstream.models = [f"m{i}" for i in range(150)]
        try:
            models = await provider(anthropic_upstream, vendor_clients).list_models()
        finally:
            anthropic_upstream.models = saved
        assert len(models) == 150
        assert len(anthropic_upstream.requests) == 2


class TestChat:
    async def test_reply_usage_and_wire_shape(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        result = await provider(anthropic_upstream, vendor_clients).chat(ask("hello there"))
        assert result.text == "echo: hello there"
        assert result.finish_reason is FinishReason.STOP
        assert result.usage is not None
        assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (4, 3)
        sent = anthropic_upstream.requests[-1]
        assert sent.path == "/v1/messages"
        assert sent.body["system"] == "be brief"
        assert sent.body["max_tokens"] == 4096
        assert sent.body["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "hello there"}]}
        ]
        assert sent.headers["anthropic-version"]
        assert KEY not in sent.path and not sent.query

    async def test_scripted_reply_and_options(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        anthropic_upstream.reply("scripted answer")
        request = ask(max_tokens=50, stop=["END"], user="u-1", temperature=0.3)
        result = await provider(anthropic_upstream, vendor_clients).chat(request)
        assert result.text == "scripted answer"
        body = anthropic_upstream.requests[-1].body
        assert body["max_tokens"] == 50
        assert body["stop_sequences"] == ["END"]
        assert body["metadata"] == {"user_id": "u-1"}
        assert "temperature" not in body

    async def test_tool_specs_and_tool_call(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        request = ask("weather in Paris", tools=[WEATHER], tool_choice="required")
        result = await provider(anthropic_upstream, vendor_clients).chat(request)
        body = anthropic_upstream.requests[-1].body
        assert body["tools"] == [
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "input_schema": WEATHER.parameters,
            }
        ]
        assert body["tool_choice"] == {"type": "any"}
        assert result.finish_reason is FinishReason.TOOL_CALLS
        (call,) = result.tool_calls
        assert call.name == "get_weather"
        assert json.loads(call.arguments) == {"input": "weather in Paris"}

    async def test_tool_results_go_back_as_blocks(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        call = ToolCall(id="toolu_1", name="get_weather", arguments='{"city": "Paris"}')
        messages = [
            ChatMessage("user", "weather?"),
            ChatMessage("assistant", "", tool_calls=(call,)),
            ChatMessage("tool", "sunny", tool_call_id="toolu_1"),
        ]
        request = ChatRequest(model="claude-fake", messages=messages, tools=[WEATHER])
        result = await provider(anthropic_upstream, vendor_clients).chat(request)
        assert result.text == "tool said: sunny"
        sent = anthropic_upstream.requests[-1].body["messages"]
        assert sent[1] == {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            ],
        }
        assert sent[2]["content"] == [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}
        ]

    async def test_image_parts(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        parts: list[ContentPart] = [
            TextPart("what is this"),
            ImagePart("data:image/png;base64,aGVsbG8="),
            ImagePart("https://93.184.216.34/cat.jpg"),
        ]
        request = ChatRequest(model="claude-fake", messages=[ChatMessage("user", parts)])
        await provider(anthropic_upstream, vendor_clients).chat(request)
        content = anthropic_upstream.requests[-1].body["messages"][0]["content"]
        assert content[1]["source"] == {
            "type": "base64",
            "media_type": "image/png",
            "data": "aGVsbG8=",
        }
        assert content[2]["source"] == {"type": "url", "url": "https://93.184.216.34/cat.jpg"}

    async def test_bad_tool_arguments_are_invalid(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        call = ToolCall(id="t", name="f", arguments="{not json")
        messages = [ChatMessage("user", "x"), ChatMessage("assistant", "", tool_calls=(call,))]
        with pytest.raises(Invalid):
            await provider(anthropic_upstream, vendor_clients).chat(
                ChatRequest(model="claude-fake", messages=messages)
            )


class TestStream:
    async def test_deltas_then_one_end_with_usage(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        events = await collect(provider(anthropic_upstream, vendor_clients), ask("one two three"))
        assert isinstance(events[-1], StreamEnd)
        assert all(isinstance(e, TextDelta) for e in events[:-1])
        assert len(events) > 3
        assert "".join(e.text for e in events[:-1] if isinstance(e, TextDelta)) == (
            "echo: one two three"
        )
        end = events[-1]
        assert end.finish_reason is FinishReason.STOP
        assert end.usage is not None
        assert (end.usage.prompt_tokens, end.usage.completion_tokens) == (5, 4)
        assert anthropic_upstream.requests[-1].body["stream"] is True

    async def test_tool_call_deltas(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        events = await collect(
            provider(anthropic_upstream, vendor_clients), ask("rain?", tools=[WEATHER])
        )
        deltas = [e for e in events if isinstance(e, ToolCallDelta)]
        assert deltas[0].id == "toolu_fake_1" and deltas[0].name == "get_weather"
        assert all(d.index == 0 for d in deltas)
        assert json.loads("".join(d.arguments for d in deltas)) == {"input": "rain?"}
        assert isinstance(events[-1], StreamEnd)
        assert events[-1].finish_reason is FinishReason.TOOL_CALLS

    async def test_early_close_closes_the_upstream_response(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        anthropic_upstream.reply(" ".join(f"w{i}" for i in range(400)))
        anthropic_upstream.chunk_delay = 0.01
        before = dict(stream_log(anthropic_upstream))
        stream = provider(anthropic_upstream, vendor_clients).stream_chat(ask())
        assert isinstance(await anext(stream), TextDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        await eventually(
            lambda: stream_log(anthropic_upstream)["closed"] == before.get("closed", 0) + 1
        )
        log = stream_log(anthropic_upstream)
        assert log["closed"] == log["opened"]


FAULTS = [
    ({"status": 401}, UpstreamRejected, "upstream_auth"),
    ({"status": 403}, UpstreamRejected, "upstream_auth"),
    ({"status": 400}, UpstreamRejected, "upstream_rejected"),
    ({"status": 404}, UpstreamRejected, "upstream_rejected"),
    ({"status": 429, "retry_after": 7}, RateLimited, "upstream_rate_limited"),
    ({"status": 500}, UpstreamUnavailable, "upstream_unavailable"),
    ({"status": 529}, UpstreamUnavailable, "upstream_unavailable"),
    ({"delay": 1.5}, Timeout, "timeout"),
]


class TestFaults:
    @pytest.mark.parametrize(("fault", "kind", "code"), FAULTS)
    async def test_chat(
        self,
        anthropic_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, float],
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        anthropic_upstream.fail(message=f"leak {KEY} body", **fault)
        p = provider(anthropic_upstream, vendor_clients, timeout=0.5)
        with pytest.raises(kind) as caught:
            await p.chat(ask())
        assert caught.value.code == code
        assert type(caught.value) is kind
        assert "leak" not in str(caught.value)
        if kind is RateLimited:
            assert caught.value.retry_after == 7

    @pytest.mark.parametrize(("fault", "kind", "code"), FAULTS)
    async def test_stream(
        self,
        anthropic_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, float],
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        anthropic_upstream.fail(**fault)
        p = provider(anthropic_upstream, vendor_clients, timeout=0.5)
        with pytest.raises(kind) as caught:
            await collect(p, ask())
        assert caught.value.code == code

    @pytest.mark.parametrize("fault", [{"malformed": True}, {"drop_after": 3}])
    async def test_broken_stream_is_unavailable(
        self,
        anthropic_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, object],
    ) -> None:
        anthropic_upstream.fail(**fault)
        with pytest.raises(UpstreamUnavailable):
            await collect(provider(anthropic_upstream, vendor_clients), ask())

    async def test_stall_mid_stream_is_timeout(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        anthropic_upstream.chunk_delay = 1.0
        with pytest.raises(Timeout):
            await collect(provider(anthropic_upstream, vendor_clients, timeout=0.3), ask())

    async def test_connection_refused_is_unavailable(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with refusing_port() as port:
            p = provider(anthropic_upstream, vendor_clients, base_url=f"http://127.0.0.1:{port}")
            with pytest.raises(UpstreamUnavailable):
                await p.chat(ask())
            with pytest.raises(UpstreamUnavailable):
                await collect(p, ask())


class TestSecrets:
    async def test_wrong_key_never_appears_in_errors(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        secret = "sk-ant-very-secret-0123456789"
        p = provider(anthropic_upstream, vendor_clients, key=secret)
        with pytest.raises(UpstreamRejected) as caught:
            await p.chat(ask())
        assert caught.value.code == "upstream_auth"
        for text in (str(caught.value), repr(caught.value), repr(p), str(caught.value.args)):
            assert secret not in text
        assert caught.value.__cause__ is None

    async def test_missing_key_is_an_auth_rejection(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with pytest.raises(UpstreamRejected) as caught:
            await provider(anthropic_upstream, vendor_clients, key=None).chat(ask())
        assert caught.value.code == "upstream_auth"


class TestOtherMethods:
    async def test_has_no_embeddings_or_images(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        # Anthropic's kind lacks both: the adapter has neither port (no raising stubs).
        p = provider(anthropic_upstream, vendor_clients)
        assert not isinstance(p, EmbeddingProvider)
        assert not isinstance(p, ImageProvider)

    async def test_connection(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        await provider(anthropic_upstream, vendor_clients).test_connection()
        with pytest.raises(UpstreamRejected):
            await provider(anthropic_upstream, vendor_clients, key="wrong").test_connection()


class TestOutboundPolicy:
    async def test_untrusted_endpoint_cannot_reach_loopback(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        p = provider(anthropic_upstream, vendor_clients, trusted=False)
        with pytest.raises(Invalid) as caught:
            await p.chat(ask())
        assert caught.value.code == "url_not_allowed"
        with pytest.raises(Invalid):
            await collect(p, ask())
        assert not anthropic_upstream.requests

    async def test_base_url_must_be_http(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with pytest.raises(Invalid) as caught:
            provider(anthropic_upstream, vendor_clients, base_url="file:///etc/passwd")
        assert caught.value.code == "url_not_allowed"


class TestThinkingRules:
    """Extended thinking is asked for only where the Messages API accepts it."""

    async def test_unset_max_tokens_leaves_room_for_the_answer(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        result = await provider(anthropic_upstream, vendor_clients).chat(ask(reasoning="low"))
        body = anthropic_upstream.requests[-1].body
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert body["max_tokens"] == 4096 + 1024
        assert result.thinking == "Thinking about: hello there"

    async def test_the_budget_stays_below_a_callers_max_tokens(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        await provider(anthropic_upstream, vendor_clients).chat(
            ask(reasoning="high", max_tokens=3000)
        )
        body = anthropic_upstream.requests[-1].body
        assert body["thinking"]["budget_tokens"] == 1500
        assert body["max_tokens"] == 3000

    async def test_too_small_a_max_tokens_means_no_thinking(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        result = await provider(anthropic_upstream, vendor_clients).chat(
            ask(reasoning="medium", max_tokens=1024)
        )
        assert "thinking" not in anthropic_upstream.requests[-1].body
        assert result.thinking == ""

    async def test_forced_tool_use_goes_without_thinking(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        request = ask(reasoning="medium", tools=[WEATHER], tool_choice="required")
        result = await provider(anthropic_upstream, vendor_clients).chat(request)
        assert "thinking" not in anthropic_upstream.requests[-1].body
        assert result.finish_reason is FinishReason.TOOL_CALLS

    async def test_a_tool_use_turn_replays_with_reasoning_asked(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        # Thinking was on when the model called the tool; the neutral history kept no
        # signed thinking block, so the turn goes on without thinking rather than a 400.
        p = provider(anthropic_upstream, vendor_clients)
        first = await p.chat(ask("weather?", tools=[WEATHER], reasoning="medium"))
        assert first.thinking and first.tool_calls
        messages = [
            ChatMessage("user", "weather?"),
            ChatMessage("assistant", "", tool_calls=first.tool_calls),
            ChatMessage("tool", "sunny", tool_call_id=first.tool_calls[0].id),
        ]
        request = ChatRequest(
            model="claude-fake", messages=messages, tools=[WEATHER], reasoning="medium"
        )
        result = await p.chat(request)
        assert result.text == "tool said: sunny"
        assert "thinking" not in anthropic_upstream.requests[-1].body
        events = await collect(p, request)
        assert isinstance(events[-1], StreamEnd)

    async def test_the_next_turn_thinks_again(
        self, anthropic_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        call = ToolCall("toolu_x", "get_weather", '{"city": "Paris"}')
        messages = [
            ChatMessage("user", "weather?"),
            ChatMessage("assistant", "", tool_calls=(call,)),
            ChatMessage("tool", "sunny", tool_call_id="toolu_x"),
            ChatMessage("assistant", "It is sunny."),
            ChatMessage("user", "thanks"),
        ]
        request = ChatRequest(model="claude-fake", messages=messages, reasoning="low")
        result = await provider(anthropic_upstream, vendor_clients).chat(request)
        assert result.thinking == "Thinking about: thanks"

    def test_the_fake_refuses_what_the_api_refuses(self, anthropic_upstream: FakeUpstream) -> None:
        # Without this, the replay test above would pass against a lenient fake.
        turn = [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
            },
        ]
        body = {
            "model": "claude-fake",
            "max_tokens": 4096,
            "messages": turn,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
        }
        headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
        response = httpx.post(f"{anthropic_upstream.url}/v1/messages", json=body, headers=headers)
        assert response.status_code == 400
        assert "thinking" in response.json()["error"]["message"]
