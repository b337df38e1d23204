"""Contract: `/v1/chat/completions` answers in OpenAI's exact shapes."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.fixtures.app import Harness, User
from tests.fixtures.sse import parse_sse
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.asyncio

ONE_MESSAGE = b'{"model": "echo/echo", "messages": [{"role": "user", "content": "x"}]'


def sse_frames(body: str) -> list[str]:
    """The data of every event of a whole SSE body."""
    return [event.data for event in parse_sse(body)]


class TestBlocking:
    async def test_echo_completion_has_openai_shape(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": "echo/echo", "messages": [{"role": "user", "content": "hi there"}]},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["object"] == "chat.completion"
        assert body["id"].startswith("chatcmpl-")
        assert body["model"] == "echo/echo"
        assert isinstance(body["created"], int)
        choice = body["choices"][0]
        assert choice["index"] == 0
        assert choice["finish_reason"] == "stop"
        assert choice["message"]["role"] == "assistant"
        assert "hi there" in choice["message"]["content"]
        usage = body["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert response.headers["x-request-id"]

    async def test_access_token_works_too(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.token_headers,
            json={"model": "echo/echo", "messages": [{"role": "user", "content": "x"}]},
        )
        assert response.status_code == 200

    async def test_alias_resolves(self, harness_factory) -> None:  # type: ignore[no-untyped-def]
        harness = await harness_factory(model_aliases={"fast": "echo/echo"})
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": "fast", "messages": [{"role": "user", "content": "x"}]},
        )
        assert response.status_code == 200
        assert response.json()["model"] == "fast"


class TestStreaming:
    async def test_stream_frames_and_done(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={
                "model": "echo/echo",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "one two three"}],
            },
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = sse_frames(response.text)
        assert frames[-1] == "[DONE]"
        chunks = [json.loads(f) for f in frames[:-1]]
        assert all(c["object"] == "chat.completion.chunk" for c in chunks)
        assert len({c["id"] for c in chunks}) == 1
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        assert "one two three" in text
        finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
        assert finish[0]["choices"][0]["finish_reason"] == "stop"
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"]["total_tokens"] > 0

    async def test_no_usage_chunk_unless_asked(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={
                "model": "echo/echo",
                "stream": True,
                "messages": [{"role": "user", "content": "x"}],
            },
        )
        chunks = [json.loads(f) for f in sse_frames(response.text)[:-1]]
        assert all(c["choices"] for c in chunks)
        assert all("usage" not in c for c in chunks)


class TestErrors:
    async def test_missing_key_is_401_in_openai_shape(self, harness: Harness) -> None:
        response = await harness.client.post(
            "/v1/chat/completions",
            json={"model": "echo/echo", "messages": [{"role": "user", "content": "x"}]},
        )
        assert response.status_code == 401
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["code"] == "invalid_api_key"

    @pytest.mark.parametrize("model", ["nope-model", "nope/some-model"])
    async def test_unknown_model_or_provider_is_404_model_not_found(
        self, harness: Harness, model: str
    ) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": model, "messages": [{"role": "user", "content": "x"}]},
        )
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["param"] == "model"
        assert error["code"] == "model_not_found"
        assert error["type"] == "invalid_request_error"

    async def test_unknown_model_for_embeddings_is_404(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/embeddings", headers=user.headers, json={"model": "nope-model", "input": "x"}
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "model_not_found"

    async def test_unconfigured_provider_is_404(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "provider_not_configured"

    @pytest.mark.parametrize(
        "payload",
        [
            b"{not json",
            b'{"model": 5, "messages": []}',
            b'{"model": "echo/echo"}',
            b'{"model": "echo/echo", "messages": [{"role": "wizard", "content": "x"}]}',
            ONE_MESSAGE + b', "temperature": 9}',
            ONE_MESSAGE + b', "n": 2}',
            ONE_MESSAGE + b', "bypass": true}',
            b"[]",
            b'"\\u0000"',
        ],
    )
    async def test_bad_input_is_400(self, harness: Harness, payload: bytes) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers={**user.headers, "content-type": "application/json"},
            content=payload,
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "invalid_request_error"

    async def test_nul_bytes_in_content_do_not_500(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": "echo/echo", "messages": [{"role": "user", "content": "a\u0000b"}]},
        )
        assert response.status_code in (200, 400)

    async def test_oversized_body_is_413(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        big = "x" * (harness.settings.max_body_bytes + 10)
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": "echo/echo", "messages": [{"role": "user", "content": big}]},
        )
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "invalid_request_error"

    async def test_rate_limit_gives_429_with_retry_after(self, harness_factory) -> None:  # type: ignore[no-untyped-def]
        harness = await harness_factory(rate_limit_default="2/minute")
        user = await harness.user("a@example.com")
        body = {"model": "echo/echo", "messages": [{"role": "user", "content": "x"}]}
        codes = [
            (await harness.client.post("/v1/chat/completions", headers=user.headers, json=body))
            for _ in range(3)
        ]
        assert [r.status_code for r in codes] == [200, 200, 429]
        assert int(codes[-1].headers["retry-after"]) >= 1
        assert codes[0].headers["x-ratelimit-limit"] == "2"
        assert codes[-1].json()["error"]["code"] == "rate_limit_exceeded"


class TestNoDatabaseConnectionAcrossTheUpstreamCall:
    """The gateway path resolves the endpoint, commits, then calls the upstream."""

    async def _user_with_upstream(self, harness: Harness, upstream: FakeUpstream) -> User:
        user = await harness.user("a@example.com")
        await harness.run(
            lambda s: s.providers.save_connection(
                user.id,
                "openai",
                api_key=OPENAI_TEST_KEY,
                base_url=upstream.url + "/v1",
                allow_private=True,
            )
        )
        return user

    @pytest.mark.parametrize("stream", [False, True])
    async def test_pool_is_free_while_the_upstream_answers(
        self, harness: Harness, openai_upstream: FakeUpstream, stream: bool
    ) -> None:
        user = await self._user_with_upstream(harness, openai_upstream)
        pool = harness.ctx.engine.pool
        for cached in (False, True):
            if not cached:
                harness.ctx.providers.endpoints.clear()
            await harness.ctx.recorder.flush()  # usage of earlier requests is written now
            openai_upstream.requests.clear()
            openai_upstream.fail(delay=1.0, path_contains="/chat/completions")
            request = asyncio.create_task(
                harness.client.post(
                    "/v1/chat/completions",
                    headers=user.headers,
                    json={
                        "model": "openai/fake-model",
                        "stream": stream,
                        "messages": [{"role": "user", "content": "x"}],
                    },
                )
            )
            await eventually(lambda: openai_upstream.requests, timeout=10, what="the upstream call")
            assert not request.done()
            assert pool.checkedout() == 0  # type: ignore[attr-defined]
            response = await request
            assert response.status_code == 200
