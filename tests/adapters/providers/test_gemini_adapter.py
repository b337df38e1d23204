"""Contract tests: the Gemini adapter against a fake Gemini API over loopback HTTP."""

from __future__ import annotations

import json

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.gemini import GeminiProvider
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
    ImageRequest,
    StreamEnd,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
)
from tests.adapters.providers.vendor_kit import WEATHER, chat_request, collect, fake_endpoint
from tests.fixtures.network import refusing_port
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.gemini_fake import PNG, embedding, normalize, stream_log
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
) -> GeminiProvider:
    endpoint = fake_endpoint("gemini", upstream, key=key, base_url=base_url, trusted=trusted)
    return GeminiProvider(endpoint, clients, timeout=timeout, connect_timeout=2.0)


def ask(text: str = "hello there", **kwargs: object) -> ChatRequest:
    return chat_request("gemini-fake", text, **kwargs)


class TestListModels:
    async def test_lists_every_model_with_capabilities(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        models = await provider(gemini_upstream, vendor_clients).list_models()
        assert [m.id for m in models] == ["gemini-fake", "text-embedding-fake"]
        assert models[0].capabilities == ("chat",)
        assert models[1].capabilities == ("embeddings",)
        assert models[0].context_window == 1048576
        assert models[0].provider == "gemini"

    async def test_follows_pages(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        saved = gemini_upstream.models
        gemini_upstream.models = [f"m{i}" for i in range(130)]
        try:
            models = await provider(gemini_upstream, vendor_clients).list_models()
        finally:
            gemini_upstream.models = saved
        assert len(models) == 130
        assert len(gemini_upstream.requests) == 2


class TestChat:
    async def test_reply_usage_and_wire_shape(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        result = await provider(gemini_upstream, vendor_clients).chat(
            ask("hello there", temperature=0.2, max_tokens=100, stop=["END"], seed=7)
        )
        assert result.text == "echo: hello there"
        assert result.finish_reason is FinishReason.STOP
        assert result.usage is not None
        assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (4, 3)
        sent = gemini_upstream.requests[-1]
        assert sent.path == "/v1beta/models/gemini-fake:generateContent"
        assert sent.headers["x-goog-api-key"] == KEY
        assert "key" not in sent.query
        assert normalize(sent.body)["systemInstruction"]["parts"] == [{"text": "be brief"}]
        assert normalize(sent.body)["contents"] == [
            {"role": "user", "parts": [{"text": "hello there"}]}
        ]
        config = normalize(sent.body)["generationConfig"]
        assert config["temperature"] == 0.2
        assert config["maxOutputTokens"] == 100
        assert config["stopSequences"] == ["END"]
        assert config["seed"] == 7

    async def test_max_tokens_is_length(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        gemini_upstream.reply("one two three four five")
        result = await provider(gemini_upstream, vendor_clients).chat(ask(max_tokens=2))
        assert result.text == "one two"
        assert result.finish_reason is FinishReason.LENGTH

    async def test_json_schema_response_format(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        schema = {"type": "object", "properties": {"a": {"type": "string"}}}
        response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
        await provider(gemini_upstream, vendor_clients).chat(ask(response_format=response_format))
        config = normalize(gemini_upstream.requests[-1].body)["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        assert config["responseJsonSchema"] == schema

    async def test_tool_specs_and_tool_call(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        request = ask("weather in Paris", tools=[WEATHER], tool_choice="required")
        result = await provider(gemini_upstream, vendor_clients).chat(request)
        body = normalize(gemini_upstream.requests[-1].body)
        assert body["tools"] == [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "parametersJsonSchema": WEATHER.parameters,
                    }
                ]
            }
        ]
        assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
        assert result.finish_reason is FinishReason.TOOL_CALLS
        (call,) = result.tool_calls
        assert call.name == "get_weather"
        assert call.id
        assert json.loads(call.arguments) == {"input": "weather in Paris"}

    async def test_tool_results_go_back_as_function_responses(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
        messages = [
            ChatMessage("user", "weather?"),
            ChatMessage("assistant", "", tool_calls=(call,)),
            ChatMessage("tool", "sunny", tool_call_id="call_1"),
        ]
        request = ChatRequest(model="gemini-fake", messages=messages, tools=[WEATHER])
        result = await provider(gemini_upstream, vendor_clients).chat(request)
        assert result.text == "tool said: sunny"
        contents = normalize(gemini_upstream.requests[-1].body)["contents"]
        assert [c["role"] for c in contents] == ["user", "model", "user"]
        (model_part,) = contents[1]["parts"]
        assert model_part["functionCall"] == {
            "id": "call_1",
            "name": "get_weather",
            "args": {"city": "Paris"},
        }
        assert model_part["thoughtSignature"] == "skip_thought_signature_validator"
        assert contents[2]["parts"] == [
            {
                "functionResponse": {
                    "id": "call_1",
                    "name": "get_weather",
                    "response": {"result": "sunny"},
                }
            }
        ]

    async def test_image_parts(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        parts: list[ContentPart] = [
            TextPart("what is this"),
            ImagePart("data:image/png;base64,aGVsbG8="),
            ImagePart("https://93.184.216.34/cat.jpg"),
        ]
        request = ChatRequest(model="gemini-fake", messages=[ChatMessage("user", parts)])
        await provider(gemini_upstream, vendor_clients).chat(request)
        sent = normalize(gemini_upstream.requests[-1].body)["contents"][0]["parts"]
        assert sent[1] == {"inlineData": {"mimeType": "image/png", "data": "aGVsbG8="}}
        assert sent[2] == {
            "fileData": {"fileUri": "https://93.184.216.34/cat.jpg", "mimeType": "image/jpeg"}
        }


class TestStream:
    async def test_deltas_then_one_end_with_usage(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        events = await collect(provider(gemini_upstream, vendor_clients), ask("one two three"))
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
        sent = gemini_upstream.requests[-1]
        assert sent.path == "/v1beta/models/gemini-fake:streamGenerateContent"
        assert sent.query == {"alt": "sse"}

    async def test_tool_call_deltas(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        events = await collect(
            provider(gemini_upstream, vendor_clients), ask("rain?", tools=[WEATHER])
        )
        deltas = [e for e in events if isinstance(e, ToolCallDelta)]
        assert len(deltas) == 1
        assert deltas[0].index == 0 and deltas[0].name == "get_weather" and deltas[0].id
        assert json.loads(deltas[0].arguments) == {"input": "rain?"}
        assert isinstance(events[-1], StreamEnd)
        assert events[-1].finish_reason is FinishReason.TOOL_CALLS

    async def test_early_close_closes_the_upstream_response(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        gemini_upstream.reply(" ".join(f"w{i}" for i in range(400)))
        gemini_upstream.chunk_delay = 0.01
        closed_before = stream_log(gemini_upstream)["closed"]
        stream = provider(gemini_upstream, vendor_clients).stream_chat(ask())
        assert isinstance(await anext(stream), TextDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        await eventually(lambda: stream_log(gemini_upstream)["closed"] == closed_before + 1)
        log = stream_log(gemini_upstream)
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
        gemini_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, float],
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        gemini_upstream.fail(message=f"leak {KEY} body", **fault)
        with pytest.raises(kind) as caught:
            await provider(gemini_upstream, vendor_clients, timeout=0.5).chat(ask())
        assert type(caught.value) is kind
        assert caught.value.code == code
        assert "leak" not in str(caught.value)
        if kind is RateLimited:
            assert caught.value.retry_after == 7

    @pytest.mark.parametrize(("fault", "kind", "code"), FAULTS)
    async def test_stream(
        self,
        gemini_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, float],
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        gemini_upstream.fail(**fault)
        with pytest.raises(kind) as caught:
            await collect(provider(gemini_upstream, vendor_clients, timeout=0.5), ask())
        assert caught.value.code == code

    @pytest.mark.parametrize("fault", [{"malformed": True}, {"drop_after": 2}])
    async def test_broken_stream_is_unavailable(
        self,
        gemini_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, object],
    ) -> None:
        gemini_upstream.fail(**fault)
        with pytest.raises(UpstreamUnavailable):
            await collect(provider(gemini_upstream, vendor_clients), ask())

    async def test_stall_mid_stream_is_timeout(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        gemini_upstream.chunk_delay = 1.0
        with pytest.raises(Timeout):
            await collect(provider(gemini_upstream, vendor_clients, timeout=0.3), ask())

    async def test_connection_refused_is_unavailable(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with refusing_port() as port:
            p = provider(gemini_upstream, vendor_clients, base_url=f"http://127.0.0.1:{port}")
            with pytest.raises(UpstreamUnavailable):
                await p.chat(ask())
            with pytest.raises(UpstreamUnavailable):
                await collect(p, ask())
            with pytest.raises(UpstreamUnavailable):
                await p.embed("text-embedding-fake", ["x"])


class TestSecrets:
    @pytest.mark.parametrize("stream", [False, True])
    async def test_wrong_key_is_auth_and_never_in_errors(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients, stream: bool
    ) -> None:
        secret = "AIzaSy-very-secret-0123456789"
        p = provider(gemini_upstream, vendor_clients, key=secret)
        with pytest.raises(UpstreamRejected) as caught:
            await (collect(p, ask()) if stream else p.chat(ask()))
        assert caught.value.code == "upstream_auth"
        for text in (str(caught.value), repr(caught.value), repr(p), str(caught.value.args)):
            assert secret not in text
        assert caught.value.__cause__ is None
        sent = gemini_upstream.requests[-1]
        assert secret not in sent.path and "key" not in sent.query

    async def test_missing_key_is_an_auth_rejection(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with pytest.raises(UpstreamRejected) as caught:
            await provider(gemini_upstream, vendor_clients, key=None).chat(ask())
        assert caught.value.code == "upstream_auth"


class TestOtherMethods:
    async def test_embed(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        result = await provider(gemini_upstream, vendor_clients).embed(
            "text-embedding-fake", ["alpha", "beta"]
        )
        assert result.vectors == [embedding("alpha"), embedding("beta")]
        sent = gemini_upstream.requests[-1]
        assert sent.path == "/v1beta/models/text-embedding-fake:batchEmbedContents"
        assert [r["content"]["parts"] for r in normalize(sent.body)["requests"]] == [
            [{"text": "alpha"}],
            [{"text": "beta"}],
        ]

    async def test_generate_image(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        images = await provider(gemini_upstream, vendor_clients).generate_image(
            ImageRequest(model="gemini-fake-image", prompt="a cat")
        )
        assert [(i.data, i.mime_type) for i in images] == [(PNG, "image/png")]
        config = normalize(gemini_upstream.requests[-1].body)["generationConfig"]
        assert config["responseModalities"] == ["TEXT", "IMAGE"]

    async def test_image_from_a_text_model_is_invalid(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        gemini_upstream.reply("no pictures here")
        p = provider(gemini_upstream, vendor_clients)
        gemini_upstream.fail(status=400)
        with pytest.raises(UpstreamRejected):
            await p.generate_image(ImageRequest(model="gemini-fake", prompt="a cat"))

    async def test_connection(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        await provider(gemini_upstream, vendor_clients).test_connection()
        with pytest.raises(UpstreamRejected) as caught:
            await provider(gemini_upstream, vendor_clients, key="wrong").test_connection()
        assert caught.value.code == "upstream_auth"

    async def test_bad_tool_history_is_invalid(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        messages = [ChatMessage("user", "x"), ChatMessage("tool", "r", tool_call_id="unknown")]
        with pytest.raises(Invalid):
            await provider(gemini_upstream, vendor_clients).chat(
                ChatRequest(model="gemini-fake", messages=messages)
            )


class TestOutboundPolicy:
    async def test_untrusted_endpoint_cannot_reach_loopback(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        p = provider(gemini_upstream, vendor_clients, trusted=False)
        with pytest.raises(Invalid) as caught:
            await p.chat(ask())
        assert caught.value.code == "url_not_allowed"
        with pytest.raises(Invalid):
            await collect(p, ask())
        assert not gemini_upstream.requests

    async def test_base_url_must_be_http(
        self, gemini_upstream: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        with pytest.raises(Invalid) as caught:
            provider(gemini_upstream, vendor_clients, base_url="file:///etc/passwd")
        assert caught.value.code == "url_not_allowed"
