"""Contract tests: the Ollama adapter against a fake Ollama server over loopback HTTP."""

from __future__ import annotations

import json

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.ollama import OllamaProvider
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
from switchboard.core.providers.ports import ImageProvider, ModelAdministration
from tests.adapters.providers.vendor_kit import WEATHER, chat_request, collect, fake_endpoint
from tests.fixtures.network import refusing_port
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.ollama_fake import embedding, stream_log
from tests.fixtures.waiting import eventually

MODEL = "llama-fake:latest"


def provider(
    upstream: FakeUpstream,
    clients: OutboundClients,
    *,
    key: str | None = None,
    base_url: str | None = None,
    timeout: float = 5.0,
    trusted: bool = True,
) -> OllamaProvider:
    endpoint = fake_endpoint("ollama", upstream, key=key, base_url=base_url, trusted=trusted)
    return OllamaProvider(endpoint, clients, timeout=timeout, connect_timeout=2.0)


def ask(text: str = "hello there", **kwargs: object) -> ChatRequest:
    return chat_request(MODEL, text, **kwargs)


class TestListModels:
    async def test_lists_pulled_models(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        models = await provider(ollama_upstream, vendor_clients).list_models()
        assert [m.id for m in models] == ["llama-fake:latest", "nomic-fake:latest"]
        assert models[0].capabilities == ("chat",)
        assert models[1].capabilities == ("embeddings",)
        assert models[0].metadata["parameter_size"] == "8B"
        assert ollama_upstream.requests[-1].path == "/api/tags"


class TestChat:
    async def test_reply_usage_and_wire_shape(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        request = ask("hello there", temperature=0.2, max_tokens=100, stop=["END"], seed=7)
        result = await provider(ollama_upstream, vendor_clients).chat(request)
        assert result.text == "echo: hello there"
        assert result.finish_reason is FinishReason.STOP
        assert result.usage is not None
        assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (4, 3)
        sent = ollama_upstream.requests[-1]
        assert sent.path == "/api/chat"
        assert sent.body["stream"] is False
        assert sent.body["messages"] == [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello there"},
        ]
        assert sent.body["options"] == {
            "temperature": 0.2,
            "num_predict": 100,
            "stop": ["END"],
            "seed": 7,
        }
        assert "authorization" not in sent.headers

    async def test_length_and_json_format(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        ollama_upstream.reply("one two three four")
        result = await provider(ollama_upstream, vendor_clients).chat(
            ask(max_tokens=2, response_format={"type": "json_object"})
        )
        assert result.text == "one two"
        assert result.finish_reason is FinishReason.LENGTH
        assert ollama_upstream.requests[-1].body["format"] == "json"

    async def test_tool_specs_and_tool_call(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        result = await provider(ollama_upstream, vendor_clients).chat(
            ask("weather in Paris", tools=[WEATHER])
        )
        assert ollama_upstream.requests[-1].body["tools"] == [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": WEATHER.parameters,
                },
            }
        ]
        assert result.finish_reason is FinishReason.TOOL_CALLS
        (call,) = result.tool_calls
        assert call.name == "get_weather" and call.id == "call_0"
        assert json.loads(call.arguments) == {"input": "weather in Paris"}

    async def test_tool_results_go_back_with_the_tool_name(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        call = ToolCall(id="call_0", name="get_weather", arguments='{"city": "Paris"}')
        messages = [
            ChatMessage("user", "weather?"),
            ChatMessage("assistant", "", tool_calls=(call,)),
            ChatMessage("tool", "sunny", tool_call_id="call_0"),
        ]
        request = ChatRequest(model=MODEL, messages=messages, tools=[WEATHER])
        result = await provider(ollama_upstream, vendor_clients).chat(request)
        assert result.text == "tool said: sunny"
        sent = ollama_upstream.requests[-1].body["messages"]
        assert sent[1]["tool_calls"] == [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
        ]
        assert sent[2] == {"role": "tool", "content": "sunny", "tool_name": "get_weather"}

    async def test_image_parts(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        parts: list[ContentPart] = [TextPart("what"), ImagePart("data:image/png;base64,aGVsbG8=")]
        request = ChatRequest(model=MODEL, messages=[ChatMessage("user", parts)])
        await provider(ollama_upstream, vendor_clients).chat(request)
        assert ollama_upstream.requests[-1].body["messages"][0]["images"] == ["aGVsbG8="]
        remote = [ImagePart("https://93.184.216.34/cat.jpg")]
        with pytest.raises(Invalid):
            await provider(ollama_upstream, vendor_clients).chat(
                ChatRequest(model=MODEL, messages=[ChatMessage("user", list(remote))])
            )

    async def test_unknown_model_is_rejected(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with pytest.raises(UpstreamRejected) as caught:
            await provider(ollama_upstream, vendor_clients).chat(
                ChatRequest(model="nope", messages=[ChatMessage("user", "x")])
            )
        assert caught.value.upstream_status == 404


class TestStream:
    async def test_deltas_then_one_end_with_usage(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        events = await collect(provider(ollama_upstream, vendor_clients), ask("one two three"))
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
        assert ollama_upstream.requests[-1].body["stream"] is True

    async def test_tool_call_deltas(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        events = await collect(
            provider(ollama_upstream, vendor_clients), ask("rain?", tools=[WEATHER])
        )
        deltas = [e for e in events if isinstance(e, ToolCallDelta)]
        assert len(deltas) == 1
        assert (deltas[0].index, deltas[0].id, deltas[0].name) == (0, "call_0", "get_weather")
        assert json.loads(deltas[0].arguments) == {"input": "rain?"}
        assert isinstance(events[-1], StreamEnd)
        assert events[-1].finish_reason is FinishReason.TOOL_CALLS

    async def test_early_close_closes_the_upstream_response(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        ollama_upstream.reply(" ".join(f"w{i}" for i in range(400)))
        ollama_upstream.chunk_delay = 0.01
        closed_before = stream_log(ollama_upstream)["closed"]
        stream = provider(ollama_upstream, vendor_clients).stream_chat(ask())
        assert isinstance(await anext(stream), TextDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        await eventually(lambda: stream_log(ollama_upstream)["closed"] == closed_before + 1)
        log = stream_log(ollama_upstream)
        assert log["closed"] == log["opened"]


FAULTS = [
    ({"status": 401}, UpstreamRejected, "upstream_auth"),
    ({"status": 403}, UpstreamRejected, "upstream_auth"),
    ({"status": 400}, UpstreamRejected, "upstream_rejected"),
    ({"status": 404}, UpstreamRejected, "upstream_rejected"),
    ({"status": 429, "retry_after": 7}, RateLimited, "upstream_rate_limited"),
    ({"status": 500}, UpstreamUnavailable, "upstream_unavailable"),
    ({"status": 503}, UpstreamUnavailable, "upstream_unavailable"),
    ({"delay": 1.5}, Timeout, "timeout"),
]


class TestFaults:
    @pytest.mark.parametrize(("fault", "kind", "code"), FAULTS)
    async def test_chat(
        self,
        ollama_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, float],
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        ollama_upstream.fail(message="leak body", **fault)
        with pytest.raises(kind) as caught:
            await provider(ollama_upstream, vendor_clients, timeout=0.5).chat(ask())
        assert type(caught.value) is kind
        assert caught.value.code == code
        assert "leak" not in str(caught.value)
        if kind is RateLimited:
            assert caught.value.retry_after == 7

    @pytest.mark.parametrize(("fault", "kind", "code"), FAULTS)
    async def test_stream(
        self,
        ollama_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, float],
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        ollama_upstream.fail(**fault)
        with pytest.raises(kind) as caught:
            await collect(provider(ollama_upstream, vendor_clients, timeout=0.5), ask())
        assert caught.value.code == code
        if kind is RateLimited:
            assert caught.value.retry_after == 7

    @pytest.mark.parametrize("fault", [{"malformed": True}, {"drop_after": 2}])
    async def test_broken_stream_is_unavailable(
        self,
        ollama_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, object],
    ) -> None:
        ollama_upstream.fail(**fault)
        with pytest.raises(UpstreamUnavailable):
            await collect(provider(ollama_upstream, vendor_clients), ask())

    async def test_stall_mid_stream_is_timeout(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        ollama_upstream.chunk_delay = 1.0
        with pytest.raises(Timeout):
            await collect(provider(ollama_upstream, vendor_clients, timeout=0.3), ask())

    async def test_connection_refused_is_unavailable(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with refusing_port() as port:
            p = provider(ollama_upstream, vendor_clients, base_url=f"http://127.0.0.1:{port}")
            with pytest.raises(UpstreamUnavailable):
                await p.chat(ask())
            with pytest.raises(UpstreamUnavailable):
                await collect(p, ask())
            with pytest.raises(UpstreamUnavailable):
                await p.list_models()


class TestSecrets:
    async def test_key_goes_as_bearer_and_never_into_errors(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        await provider(ollama_upstream, vendor_clients, key="test-key").chat(ask())
        assert ollama_upstream.requests[-1].headers["authorization"] == "Bearer test-key"
        secret = "ollama-very-secret-0123456789"
        p = provider(ollama_upstream, vendor_clients, key=secret)
        with pytest.raises(UpstreamRejected) as caught:
            await p.chat(ask())
        assert caught.value.code == "upstream_auth"
        for text in (str(caught.value), repr(caught.value), repr(p), str(caught.value.args)):
            assert secret not in text
        assert caught.value.__cause__ is None


class TestOtherMethods:
    async def test_embed(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        result = await provider(ollama_upstream, vendor_clients).embed(
            "nomic-fake:latest", ["alpha", "beta gamma"]
        )
        assert result.vectors == [embedding("alpha"), embedding("beta gamma")]
        assert result.usage is not None and result.usage.prompt_tokens == 3
        sent = ollama_upstream.requests[-1]
        assert sent.path == "/api/embed"
        assert sent.body["input"] == ["alpha", "beta gamma"]

    async def test_has_no_images_but_model_administration(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        # Ollama's kind: chat, embeddings and its model API; no image generation.
        p = provider(ollama_upstream, vendor_clients)
        assert not isinstance(p, ImageProvider)
        assert isinstance(p, ModelAdministration)

    async def test_connection(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        await provider(ollama_upstream, vendor_clients).test_connection()
        ollama_upstream.fail(status=500)
        with pytest.raises(UpstreamUnavailable):
            await provider(ollama_upstream, vendor_clients).test_connection()


class TestOutboundPolicy:
    async def test_untrusted_endpoint_cannot_reach_loopback(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        p = provider(ollama_upstream, vendor_clients, trusted=False)
        with pytest.raises(Invalid) as caught:
            await p.chat(ask())
        assert caught.value.code == "url_not_allowed"
        with pytest.raises(Invalid):
            await collect(p, ask())
        assert not ollama_upstream.requests

    async def test_base_url_must_be_http(
        self, ollama_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with pytest.raises(Invalid) as caught:
            provider(ollama_upstream, vendor_clients, base_url="file:///etc/passwd")
        assert caught.value.code == "url_not_allowed"
