"""Contract tests: the OpenAI adapter against the fake OpenAI server over loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import socket
import traceback
from collections.abc import AsyncIterator

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.openai import OpenAIProvider
from switchboard.adapters.providers.openai.convert import StreamState, chat_kwargs, chat_result
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
    FinishReason,
    ImagePart,
    ImageRequest,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
)
from switchboard.core.providers.ports import ProviderEndpoint
from tests.fixtures.upstreams import fixtures as openai_fixtures
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.upstreams.openai_fake import (
    fake_vector,
    set_stream_usage,
    stream_outcomes,
    tool_reply,
)
from tests.fixtures.waiting import eventually

# The shared fixtures, bound here so pytest finds them in this module.
openai_upstream_server = openai_fixtures.openai_upstream_server
openai_upstream = openai_fixtures.openai_upstream

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


@pytest.fixture
async def clients() -> AsyncIterator[OutboundClients]:
    outbound = OutboundClients()
    yield outbound
    await outbound.aclose()


def make(
    upstream: FakeUpstream,
    clients: OutboundClients,
    *,
    key: str | None = OPENAI_TEST_KEY,
    trusted: bool = True,
    timeout: float = 5.0,
    provider: str = "local-vllm",
) -> OpenAIProvider:
    endpoint = ProviderEndpoint(
        kind="openai",
        provider=provider,
        base_url=f"{upstream.url}/v1",
        api_key=key,
        trusted=trusted,
    )
    return OpenAIProvider(endpoint, clients, timeout, 2.0)


def ask(text: str, **kwargs: object) -> ChatRequest:
    return ChatRequest(model="fake-model", messages=[ChatMessage("user", text)], **kwargs)  # type: ignore[arg-type]


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


class TestModels:
    async def test_list_models(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        models = await make(openai_upstream, clients).list_models()
        assert [m.id for m in models] == ["fake-model", "fake-model-2"]
        assert {m.provider for m in models} == {"local-vllm"}
        assert openai_upstream.requests[0].headers["authorization"] == f"Bearer {OPENAI_TEST_KEY}"

    async def test_test_connection_ok(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        await make(openai_upstream, clients).test_connection()
        assert openai_upstream.requests[0].path == "/v1/models"

    async def test_test_connection_with_a_bad_key(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        with pytest.raises(UpstreamRejected) as caught:
            await make(openai_upstream, clients, key="sk-wrong").test_connection()
        assert caught.value.code == "upstream_auth"
        assert caught.value.upstream_status == 401


class TestChat:
    async def test_reply_usage_and_model(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        result = await make(openai_upstream, clients).chat(ask("hello there"))
        assert result.text == "Fake reply to: hello there"
        assert result.finish_reason is FinishReason.STOP
        assert result.usage is not None
        assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (2, 5)
        assert result.model == "fake-model"

    async def test_request_on_the_wire(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        request = ChatRequest(
            model="fake-model",
            messages=[
                ChatMessage("system", "be brief"),
                ChatMessage(
                    "user",
                    [TextPart("what is this?"), ImagePart("https://93.184.216.34/y.png", "low")],
                ),
                ChatMessage(
                    "assistant",
                    "",
                    tool_calls=(ToolCall("call_1", "get_weather", '{"city":"Oslo"}'),),
                ),
                ChatMessage("tool", "rainy", tool_call_id="call_1"),
            ],
            temperature=0.5,
            max_tokens=50,
            stop=["END"],
            seed=7,
        )
        await make(openai_upstream, clients).chat(request)
        body = openai_upstream.requests[0].body
        assert body["temperature"] == 0.5
        assert body["max_tokens"] == 50  # compatible servers know max_tokens
        assert body["stop"] == ["END"]
        assert body["seed"] == 7
        assert "top_p" not in body
        assert body["messages"][1]["content"][1] == {
            "type": "image_url",
            "image_url": {"url": "https://93.184.216.34/y.png", "detail": "low"},
        }
        assert body["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"
        assert body["messages"][2]["content"] is None
        assert body["messages"][3] == {"role": "tool", "content": "rainy", "tool_call_id": "call_1"}

    async def test_official_openai_gets_max_completion_tokens(
        self, clients: OutboundClients
    ) -> None:
        provider = OpenAIProvider(ProviderEndpoint("openai", "openai", None, "sk-x"), clients, 5, 2)
        assert provider._official
        assert "max_completion_tokens" in chat_kwargs(
            ask("x", max_tokens=5), completion_tokens_param=True
        )

    async def test_tool_calls_pass_through(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.replies.append(tool_reply("get_weather", {"city": "Paris"}))
        result = await make(openai_upstream, clients).chat(
            ask("weather?", tools=[WEATHER], tool_choice="auto")
        )
        assert result.finish_reason is FinishReason.TOOL_CALLS
        assert result.tool_calls == (ToolCall("call_fake_0", "get_weather", '{"city": "Paris"}'),)
        body = openai_upstream.requests[0].body
        assert body["tools"][0]["function"]["name"] == "get_weather"
        assert body["tools"][0]["function"]["parameters"]["properties"]["city"] == {
            "type": "string"
        }
        assert body["tool_choice"] == "auto"

    async def test_length_finish_reason(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        result = await make(openai_upstream, clients).chat(ask("one two three four", max_tokens=2))
        assert result.finish_reason is FinishReason.LENGTH
        assert result.text == "Fake reply "

    async def test_keyless_server_gets_a_placeholder_not_the_environment_key(
        self,
        openai_upstream: FakeUpstream,
        clients: OutboundClients,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-operator-env-SECRET")
        monkeypatch.setenv("OPENAI_ORG_ID", "org-operator")
        monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-operator")
        monkeypatch.setenv("OPENAI_BASE_URL", "http://169.254.169.254/v1")
        openai_upstream.api_key = None
        await make(openai_upstream, clients, key=None).chat(ask("hi"))
        headers = openai_upstream.requests[0].headers
        assert "sk-operator-env-SECRET" not in str(headers)
        assert "openai-organization" not in headers
        assert "openai-project" not in headers


class TestStream:
    async def test_deltas_then_one_end_with_usage(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        provider = make(openai_upstream, clients)
        events = await collect(provider.stream_chat(ask("stream me please")))
        assert all(isinstance(e, TextDelta) for e in events[:-1])
        end = events[-1]
        assert isinstance(end, StreamEnd)
        assert end.finish_reason is FinishReason.STOP
        assert end.usage is not None and end.usage.completion_tokens == 6
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == (await provider.chat(ask("stream me please"))).text
        body = openai_upstream.requests[0].body
        assert body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}

    async def test_a_chunk_larger_than_aiohttps_line_limit_streams(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        # aiohttp's readline refuses lines over 128 KiB; one chunk can be a whole answer.
        word = "x" * 300_000
        openai_upstream.reply(word)
        events = await collect(make(openai_upstream, clients).stream_chat(ask("big")))
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == word
        assert isinstance(events[-1], StreamEnd)

    async def test_server_without_usage_is_tolerated(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        set_stream_usage(openai_upstream, False)
        events = await collect(make(openai_upstream, clients).stream_chat(ask("hi")))
        assert events[-1] == StreamEnd(FinishReason.STOP, None)
        assert sum(isinstance(e, StreamEnd) for e in events) == 1

    async def test_tool_call_deltas(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.replies.append(tool_reply("get_weather", {"city": "Paris"}))
        events = await collect(
            make(openai_upstream, clients).stream_chat(ask("weather?", tools=[WEATHER]))
        )
        deltas = [e for e in events if isinstance(e, ToolCallDelta)]
        assert deltas[0] == ToolCallDelta(
            index=0, id="call_fake_0", name="get_weather", arguments=""
        )
        assert "".join(d.arguments for d in deltas) == '{"city": "Paris"}'
        assert isinstance(events[-1], StreamEnd)
        assert events[-1].finish_reason is FinishReason.TOOL_CALLS

    async def test_length_in_stream(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        events = await collect(
            make(openai_upstream, clients).stream_chat(ask("a b c d", max_tokens=1))
        )
        assert events[-1].finish_reason is FinishReason.LENGTH  # type: ignore[union-attr]

    async def test_closing_early_cancels_the_upstream_call(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.chunk_delay = 0.05
        openai_upstream.reply(" ".join(f"w{i}" for i in range(200)))
        stream = make(openai_upstream, clients).stream_chat(ask("long"))
        first = [await anext(stream), await anext(stream)]
        assert all(isinstance(e, TextDelta) for e in first)
        await stream.aclose()  # type: ignore[attr-defined]
        await eventually(lambda: stream_outcomes(openai_upstream))
        assert stream_outcomes(openai_upstream) == ["cancelled"]

    async def test_consumer_cancellation_closes_the_upstream(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.chunk_delay = 0.05
        openai_upstream.reply(" ".join(f"w{i}" for i in range(200)))
        provider = make(openai_upstream, clients)

        received: list[object] = []

        async def consume() -> None:
            async for event in provider.stream_chat(ask("long")):
                received.append(event)

        task = asyncio.create_task(consume())
        await eventually(lambda: len(received) >= 2, what="the stream to be flowing")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await eventually(lambda: stream_outcomes(openai_upstream))
        assert stream_outcomes(openai_upstream) == ["cancelled"]


class TestEmbeddingsAndImages:
    async def test_embed(self, openai_upstream: FakeUpstream, clients: OutboundClients) -> None:
        result = await make(openai_upstream, clients).embed("text-embedding-3-small", ["a", "b c"])
        assert result.vectors == [fake_vector("a"), fake_vector("b c")]
        assert result.model == "text-embedding-3-small"
        assert result.usage is not None and result.usage.prompt_tokens == 3
        assert openai_upstream.requests[0].body["encoding_format"] == "float"

    async def test_embed_needs_input(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        with pytest.raises(Invalid):
            await make(openai_upstream, clients).embed("m", [])

    async def test_generate_image_as_bytes(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        images = await make(openai_upstream, clients).generate_image(
            ImageRequest(model="dall-e-3", prompt="a cat", size="1024x1024", n=2)
        )
        assert len(images) == 2
        assert images[0].data is not None and images[0].data.startswith(b"\x89PNG")
        assert images[0].mime_type == "image/png"
        assert images[0].revised_prompt == "revised: a cat"
        body = openai_upstream.requests[0].body
        assert body["response_format"] == "b64_json"
        assert body["size"] == "1024x1024"

    async def test_gpt_image_models_get_no_response_format(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        images = await make(openai_upstream, clients).generate_image(
            ImageRequest(model="gpt-image-1", prompt="x")
        )
        assert images[0].data is not None
        assert "response_format" not in openai_upstream.requests[0].body

    def test_png_from_fake_is_what_we_return(self) -> None:
        from tests.fixtures.upstreams.openai_fake import tiny_png

        assert base64.b64decode(base64.b64encode(tiny_png())) == tiny_png()


FAULTS = [
    (400, UpstreamRejected, "upstream_rejected"),
    (401, UpstreamRejected, "upstream_auth"),
    (403, UpstreamRejected, "upstream_auth"),
    (404, UpstreamRejected, "upstream_rejected"),
    (422, UpstreamRejected, "upstream_rejected"),
    (429, RateLimited, "upstream_rate_limited"),
    (500, UpstreamUnavailable, "upstream_unavailable"),
    (502, UpstreamUnavailable, "upstream_unavailable"),
    (503, UpstreamUnavailable, "upstream_unavailable"),
]


class TestFaults:
    @pytest.mark.parametrize(("status", "kind", "code"), FAULTS)
    async def test_status_faults_on_chat(
        self,
        openai_upstream: FakeUpstream,
        clients: OutboundClients,
        status: int,
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        openai_upstream.fail(status=status, message=f"vendor says {OPENAI_TEST_KEY}")
        with pytest.raises(kind) as caught:
            await make(openai_upstream, clients).chat(ask("hi"))
        assert caught.value.code == code
        assert caught.value.upstream_status == status
        assert "vendor says" not in str(caught.value)

    @pytest.mark.parametrize(("status", "kind", "code"), FAULTS)
    async def test_status_faults_on_stream_before_any_event(
        self,
        openai_upstream: FakeUpstream,
        clients: OutboundClients,
        status: int,
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        openai_upstream.fail(status=status)
        events: list[StreamEvent] = []
        with pytest.raises(kind):
            async for event in make(openai_upstream, clients).stream_chat(ask("hi")):
                events.append(event)
        assert events == []

    async def test_rate_limit_carries_retry_after(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.fail(status=429, retry_after=7)
        with pytest.raises(RateLimited) as caught:
            await make(openai_upstream, clients).embed("m", ["x"])
        assert caught.value.retry_after == 7.0

    @pytest.mark.parametrize("method", ["chat", "stream", "models", "embed", "image"])
    async def test_slow_upstream_times_out(
        self, openai_upstream: FakeUpstream, clients: OutboundClients, method: str
    ) -> None:
        openai_upstream.fail(delay=1.5)
        provider = make(openai_upstream, clients, timeout=0.3)
        with pytest.raises(Timeout):
            if method == "chat":
                await provider.chat(ask("hi"))
            elif method == "stream":
                await collect(provider.stream_chat(ask("hi")))
            elif method == "models":
                await provider.list_models()
            elif method == "embed":
                await provider.embed("m", ["x"])
            else:
                await provider.generate_image(ImageRequest(model="dall-e-3", prompt="x"))

    async def test_slow_chunks_time_out_mid_stream(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.chunk_delay = 0.6
        events: list[StreamEvent] = []
        with pytest.raises(Timeout):
            async for event in make(openai_upstream, clients, timeout=0.3).stream_chat(
                ask("a b c")
            ):
                events.append(event)

    async def test_malformed_stream_chunk(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.fail(malformed=True)
        with pytest.raises(UpstreamUnavailable) as caught:
            await collect(make(openai_upstream, clients).stream_chat(ask("a b c")))
        assert caught.value.code == "upstream_malformed"

    async def test_malformed_blocking_body(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.fail(malformed=True)
        with pytest.raises(UpstreamUnavailable):
            await make(openai_upstream, clients).chat(ask("a b c"))

    async def test_connection_dropped_mid_stream(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        openai_upstream.fail(drop_after=3)
        events: list[StreamEvent] = []
        with pytest.raises(UpstreamUnavailable):
            async for event in make(openai_upstream, clients).stream_chat(
                ask("one two three four five")
            ):
                events.append(event)
        assert events and all(isinstance(e, TextDelta) for e in events)

    async def test_connection_refused(self, clients: OutboundClients) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        endpoint = ProviderEndpoint("openai", "local", f"http://127.0.0.1:{port}/v1", "k", True)
        with pytest.raises(UpstreamUnavailable):
            await OpenAIProvider(endpoint, clients, 2, 1).chat(ask("hi"))

    async def test_untrusted_loopback_endpoint_is_refused(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        with pytest.raises(Invalid) as caught:
            await make(openai_upstream, clients, trusted=False).chat(ask("hi"))
        assert caught.value.code == "url_not_allowed"
        assert openai_upstream.requests == []

    @pytest.mark.parametrize(
        "base_url", ["http://169.254.169.254/v1", "file:///etc/passwd", "http://u:p@example.com/v1"]
    )
    async def test_bad_base_urls(self, clients: OutboundClients, base_url: str) -> None:
        with pytest.raises(Invalid):
            endpoint = ProviderEndpoint("openai", "custom", base_url, "k", True)
            await OpenAIProvider(endpoint, clients, 2, 1).chat(ask("hi"))

    def test_missing_base_url_for_a_non_openai_provider(self, clients: OutboundClients) -> None:
        # Falling back to api.openai.com would send a Groq key to OpenAI.
        with pytest.raises(Invalid):
            OpenAIProvider(ProviderEndpoint("openai", "groq", None, "gsk_x"), clients, 2, 1)


class TestSecrets:
    async def test_key_never_in_errors_or_reprs(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        secret = "sk-live-THIS-IS-THE-SECRET-0123456789"
        provider = make(openai_upstream, clients, key=secret)
        assert secret not in repr(provider)
        # The fake echoes the wrong key in its 401 body, as a careless upstream might.
        with pytest.raises(UpstreamRejected) as caught:
            await provider.chat(ask("hi"))
        rendered = "".join(traceback.format_exception(caught.value))
        for text in (str(caught.value), repr(caught.value), rendered, caught.value.message):
            assert secret not in text
            assert secret[-10:] not in text

    async def test_stream_errors_do_not_carry_the_key(
        self, openai_upstream: FakeUpstream, clients: OutboundClients
    ) -> None:
        secret = "sk-live-ANOTHER-SECRET-9876543210"
        with pytest.raises(UpstreamRejected) as caught:
            await collect(make(openai_upstream, clients, key=secret).stream_chat(ask("hi")))
        assert secret not in "".join(traceback.format_exception(caught.value))


class TestReasoningFields:
    """Servers name the reasoning `reasoning_content` (DeepSeek, vLLM) or `reasoning`."""

    @pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
    def test_blocking_message(self, field: str) -> None:
        completion = {"choices": [{"message": {"content": "42", field: "hmm"}}]}
        assert chat_result(completion).thinking == "hmm"

    @pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
    def test_stream_delta(self, field: str) -> None:
        chunk = {"choices": [{"index": 0, "delta": {field: "hmm", "content": "42"}}]}
        assert StreamState().events(chunk) == [ThinkingDelta("hmm"), TextDelta("42")]

    def test_reasoning_effort_is_sent_only_when_asked(self) -> None:
        asked = chat_kwargs(ask("x", reasoning="low"), completion_tokens_param=False)
        assert asked["reasoning_effort"] == "low"
        assert "reasoning_effort" not in chat_kwargs(ask("x"), completion_tokens_param=False)
