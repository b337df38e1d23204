"""An upstream failure writes one WARNING line: request id, provider, model, a redacted
reason, and never the key (the fake OpenAI echoes the key in its 401 body)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from switchboard.adapters.providers.logged import LoggedProvider, logged
from switchboard.core.errors import Invalid, UpstreamUnavailable
from switchboard.core.llm import ChatMessage, ChatRequest, StreamEvent, TextDelta
from switchboard.core.providers.ports import (
    EmbeddingProvider,
    ImageProvider,
    ModelAdministration,
    ProviderEndpoint,
)
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

CAPTURE = [structlog.contextvars.merge_contextvars]


def warnings(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    """The WARNING lines (and worse) of a capture."""
    return [entry for entry in logs if entry["log_level"] in ("warning", "error", "critical")]


@pytest.fixture
async def app(
    harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
) -> Harness:
    return await harness_factory(
        openai_api_key=OPENAI_TEST_KEY, openai_base_url=openai_upstream.url + "/v1"
    )


@pytest.mark.parametrize(
    ("status", "kind"), [(502, "upstream_unavailable"), (401, "upstream_rejected")]
)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_failed_call_logs_one_warning(
    app: Harness, openai_upstream: FakeUpstream, status: int, kind: str, stream: bool
) -> None:
    user = await app.user("a@example.com")
    openai_upstream.fail(status=status, path_contains="/chat/completions")
    with capture_logs(processors=CAPTURE) as logs:
        response = await app.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={
                "model": "openai/fake-model",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": stream,
            },
        )
    assert response.status_code >= 400 or "error" in response.text
    [line] = warnings(logs)
    assert line["event"] == "upstream_failed"
    assert line["request_id"] == response.headers["x-request-id"]
    assert (line["provider"], line["model"], line["kind"]) == ("openai", "fake-model", kind)
    assert line["upstream_status"] == status and f"HTTP {status}" in line["reason"]
    assert OPENAI_TEST_KEY not in json.dumps(logs, default=str)


async def test_a_call_that_succeeds_logs_no_warning(app: Harness) -> None:
    user = await app.user("a@example.com")
    with capture_logs() as logs:
        response = await app.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": "openai/fake-model", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 200
    assert warnings(logs) == []


class Failing:
    """A provider whose stream breaks after one event and whose chat is refused by us."""

    async def stream_chat(self, request: ChatRequest) -> Any:
        yield TextDelta("partial")
        raise UpstreamUnavailable("Vendor dropped the connection sk-ABCDEFGHIJKLMNOP")

    async def chat(self, request: ChatRequest) -> Any:
        raise Invalid("not an upstream failure")


ENDPOINT = ProviderEndpoint(kind="openai", provider="groq", api_key="gsk-the-key-itself")
REQUEST = ChatRequest(model="llama", messages=[ChatMessage(role="user", content="x")])


async def test_a_stream_broken_midway_logs_once_with_the_key_shapes_redacted() -> None:
    provider = LoggedProvider(Failing(), ENDPOINT)  # type: ignore[arg-type]
    got: list[StreamEvent] = []
    with capture_logs() as logs, pytest.raises(UpstreamUnavailable):
        async for event in provider.stream_chat(REQUEST):
            got.append(event)
    assert got == [TextDelta("partial")]
    [line] = warnings(logs)
    assert (line["provider"], line["model"], line["call"]) == ("groq", "llama", "stream_chat")
    assert "sk-ABCDEFGHIJKLMNOP" not in line["reason"] and "[redacted]" in line["reason"]


async def test_errors_that_are_not_the_upstreams_are_not_logged_here() -> None:
    provider = LoggedProvider(Failing(), ENDPOINT)  # type: ignore[arg-type]
    with capture_logs() as logs, pytest.raises(Invalid):
        await provider.chat(REQUEST)
    assert warnings(logs) == []


class ChatOnly:
    """A provider with the chat port only (as Anthropic's adapter)."""

    async def chat(self, request: ChatRequest) -> Any:
        raise UpstreamUnavailable("down")


class Admin(ChatOnly):
    """A provider with chat and model administration (as Ollama's adapter)."""

    async def embed(self, model: str, inputs: list[str]) -> Any:
        raise UpstreamUnavailable("down")

    async def local_models(self) -> Any:
        return []

    async def model_details(self, name: str) -> Any:
        return None

    async def load_model(self, name: str) -> Any:
        raise UpstreamUnavailable("Ollama could not be reached")

    async def unload_model(self, name: str) -> Any:
        return None

    async def model_status(self, name: str) -> Any:
        return None


def test_the_wrapper_claims_no_port_the_provider_lacks() -> None:
    wrapped = logged(ChatOnly(), ENDPOINT)  # type: ignore[arg-type]

    assert not isinstance(wrapped, EmbeddingProvider)
    assert not isinstance(wrapped, ImageProvider)
    assert not isinstance(wrapped, ModelAdministration)


def test_the_wrapper_has_every_port_the_provider_has() -> None:
    wrapped = logged(Admin(), ENDPOINT)  # type: ignore[arg-type]

    assert isinstance(wrapped, EmbeddingProvider)
    assert isinstance(wrapped, ModelAdministration)
    assert not isinstance(wrapped, ImageProvider)
    assert type(wrapped) is type(logged(Admin(), ENDPOINT))  # type: ignore[arg-type]


async def test_model_administration_failures_are_logged() -> None:
    wrapped = logged(Admin(), ENDPOINT)  # type: ignore[arg-type]
    assert isinstance(wrapped, ModelAdministration)

    with capture_logs() as logs, pytest.raises(UpstreamUnavailable):
        await wrapped.load_model("llama3.2:1b")

    [line] = warnings(logs)
    assert (line["model"], line["call"]) == ("llama3.2:1b", "load_model")
