"""The official openai SDK, pointed at a real switchboard server, works for all of it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.core.usage.schemas import UsageSummary
from switchboard.core.usage.service import UsageService
from switchboard.kit.db import session_factory
from tests.e2e.conftest import LiveServer
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.openai_fake import stream_outcomes, tool_reply
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.e2e


_opened: list[openai.AsyncOpenAI] = []


def client(server: LiveServer, key: str) -> openai.AsyncOpenAI:
    sdk = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
    _opened.append(sdk)
    return sdk


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    """Every SDK client a test made is closed with its connections (warnings are errors)."""
    yield
    while _opened:
        await _opened.pop().close()


class TestEcho:
    async def test_blocking(self, live_server: LiveServer, engine: AsyncEngine) -> None:
        user = await live_server.user("sdk@example.com")
        reply = await client(live_server, user.api_key).chat.completions.create(
            model="echo/echo", messages=[{"role": "user", "content": "hello sdk"}]
        )
        assert "hello sdk" in (reply.choices[0].message.content or "")
        assert reply.usage is not None and reply.usage.total_tokens > 0

    async def test_streaming_with_usage(self, live_server: LiveServer, engine: AsyncEngine) -> None:
        user = await live_server.user("sdk@example.com")
        stream = await client(live_server, user.api_key).chat.completions.create(
            model="echo/echo",
            messages=[{"role": "user", "content": "one two three four"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage = "", None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            if chunk.usage:
                usage = chunk.usage
        assert "one two three four" in text
        assert usage is not None and usage.completion_tokens > 0

    async def test_models_and_embeddings(
        self, live_server: LiveServer, engine: AsyncEngine
    ) -> None:
        user = await live_server.user("sdk@example.com")
        sdk = client(live_server, user.api_key)
        ids = [m.id async for m in sdk.models.list()]
        assert "echo/echo" in ids
        assert "openai/fake-model" in ids
        result = await sdk.embeddings.create(model="echo/echo", input=["a", "b"])
        assert len(result.data) == 2
        assert len(result.data[0].embedding) > 0

    async def test_access_token_is_accepted(
        self, live_server: LiveServer, engine: AsyncEngine
    ) -> None:
        user = await live_server.user("sdk@example.com")
        reply = await client(live_server, user.access_token).chat.completions.create(
            model="echo/echo", messages=[{"role": "user", "content": "x"}]
        )
        assert reply.choices[0].message.role == "assistant"


class TestImages:
    async def test_b64_json(self, live_server: LiveServer, engine: AsyncEngine) -> None:
        user = await live_server.user("sdk@example.com")
        result = await client(live_server, user.api_key).images.generate(
            model="echo/dall-e-2",
            prompt="a square",
            size="256x256",
            response_format="b64_json",
            n=2,
        )
        assert result.data is not None and len(result.data) == 2
        assert base64.b64decode(result.data[0].b64_json or "").startswith(b"\x89PNG")

    async def test_url_is_fetchable_by_its_owner(
        self, live_server: LiveServer, engine: AsyncEngine
    ) -> None:
        user = await live_server.user("sdk@example.com")
        result = await client(live_server, user.api_key).images.generate(
            model="echo/dall-e-3", prompt="a square", response_format="url"
        )
        assert result.data is not None
        url = result.data[0].url or ""
        async with httpx.AsyncClient() as http:
            image = await http.get(url, headers=user.headers)
            assert image.status_code == 200
            assert image.headers["content-type"] == "image/png"
            assert (await http.get(url)).status_code == 401


class TestErrors:
    async def test_bad_key(self, live_server: LiveServer, engine: AsyncEngine) -> None:
        with pytest.raises(openai.AuthenticationError):
            await client(
                live_server, "sb-aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbb"
            ).chat.completions.create(
                model="echo/echo", messages=[{"role": "user", "content": "x"}]
            )

    async def test_unknown_model(self, live_server: LiveServer, engine: AsyncEngine) -> None:
        user = await live_server.user("sdk@example.com")
        with pytest.raises(openai.NotFoundError) as caught:
            await client(live_server, user.api_key).chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.code == "model_not_found"

    async def test_no_key_on_the_shared_model_list(
        self, live_server: LiveServer, engine: AsyncEngine
    ) -> None:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client(live_server, "not-a-key").models.list()
        assert caught.value.code == "invalid_api_key"
        assert caught.value.type == "invalid_request_error"
        assert caught.value.message

    async def test_missing_scope(self, live_server: LiveServer, engine: AsyncEngine) -> None:
        user = await live_server.user("sdk@example.com", scopes=["models"])
        with pytest.raises(openai.PermissionDeniedError):
            await client(live_server, user.api_key).chat.completions.create(
                model="echo/echo", messages=[{"role": "user", "content": "x"}]
            )


class TestThroughUpstream:
    async def test_blocking_and_usage_recorded(
        self, live_server: LiveServer, engine: AsyncEngine, openai_upstream: FakeUpstream
    ) -> None:
        user = await live_server.user("sdk@example.com")
        openai_upstream.reply("from the fake")
        reply = await client(live_server, user.api_key).chat.completions.create(
            model="openai/fake-model", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "from the fake"
        assert openai_upstream.requests[-1].body["model"] == "fake-model"
        summary = await _usage_eventually(engine, user.id)
        assert summary.calls == 1 and summary.by_model[0].provider == "openai"

    async def test_tools_pass_through(
        self, live_server: LiveServer, engine: AsyncEngine, openai_upstream: FakeUpstream
    ) -> None:
        user = await live_server.user("sdk@example.com")
        openai_upstream.reply(tool_reply("get_weather", {"city": "Paris"}))  # type: ignore[arg-type]
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ]
        reply = await client(live_server, user.api_key).chat.completions.create(
            model="openai/fake-model",
            messages=[{"role": "user", "content": "weather?"}],
            tools=tools,  # type: ignore[arg-type]
        )
        call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert isinstance(call, ChatCompletionMessageFunctionToolCall)
        assert call.function.name == "get_weather"
        assert reply.choices[0].finish_reason == "tool_calls"
        assert openai_upstream.requests[-1].body["tools"][0]["function"]["name"] == "get_weather"

    async def test_upstream_500_is_502(
        self, live_server: LiveServer, engine: AsyncEngine, openai_upstream: FakeUpstream
    ) -> None:
        user = await live_server.user("sdk@example.com")
        openai_upstream.fail(status=500)
        with pytest.raises(openai.APIStatusError) as caught:
            await client(live_server, user.api_key).chat.completions.create(
                model="openai/fake-model", messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.status_code == 502
        assert "test" not in str(caught.value.body)  # no upstream key or body reflected

    async def test_upstream_429_passes_retry_after(
        self, live_server: LiveServer, engine: AsyncEngine, openai_upstream: FakeUpstream
    ) -> None:
        user = await live_server.user("sdk@example.com")
        openai_upstream.fail(status=429, retry_after=7)
        with pytest.raises(openai.RateLimitError) as caught:
            await client(live_server, user.api_key).chat.completions.create(
                model="openai/fake-model", messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.response.headers["retry-after"] == "7"

    async def test_drop_mid_stream_ends_with_error_event(
        self, live_server: LiveServer, engine: AsyncEngine, openai_upstream: FakeUpstream
    ) -> None:
        user = await live_server.user("sdk@example.com")
        openai_upstream.fail(drop_after=2)
        stream = await client(live_server, user.api_key).chat.completions.create(
            model="openai/fake-model",
            messages=[{"role": "user", "content": "a b c d e f g h"}],
            stream=True,
        )
        with pytest.raises(openai.APIError):
            async for _ in stream:
                pass

    async def test_client_disconnect_cancels_upstream(
        self, live_server: LiveServer, engine: AsyncEngine, openai_upstream: FakeUpstream
    ) -> None:
        user = await live_server.user("sdk@example.com")
        openai_upstream.chunk_delay = 0.2
        body = {
            "model": "openai/fake-model",
            "stream": True,
            "messages": [{"role": "user", "content": " ".join(["word"] * 50)}],
        }
        async with (
            httpx.AsyncClient(base_url=live_server.url) as http,
            http.stream(
                "POST", "/v1/chat/completions", json=body, headers=user.headers
            ) as response,
        ):
            # The first frame (the role) goes out before the upstream is called;
            # leave once real content shows the upstream stream is under way.
            async for raw in response.aiter_raw():
                if b'"content":"word' in raw:
                    break
        outcomes = await eventually(lambda: stream_outcomes(openai_upstream))
        assert outcomes == ["cancelled"]


async def _usage_eventually(engine: AsyncEngine, user_id: str) -> UsageSummary:
    async def recorded() -> UsageSummary | None:
        async with session_factory(engine)() as session:
            summary = await UsageService(session).summary(user_id)
        return summary if summary.calls else None

    return await eventually(recorded, what="usage recorded")
