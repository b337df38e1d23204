"""`POST /api/chat`: one reply from a provider, a profile and a model, on the gateway path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from switchboard.core.container import Services
from switchboard.core.profiles.schemas import ProfileCreate
from tests.faces.spoonfeeder.conftest import caller, data_of, error_of, message_of
from tests.fixtures.app import Harness, User
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

HarnessFactory = Callable[..., Awaitable[Harness]]
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest.fixture
async def app(
    harness_factory: HarnessFactory,
    openai_upstream: FakeUpstream,
    ollama_upstream: FakeUpstream,
    anthropic_upstream: FakeUpstream,
) -> Harness:
    """The operator's OpenAI, Anthropic and Ollama on the fakes."""
    return await harness_factory(
        openai_api_key=OPENAI_TEST_KEY,
        openai_base_url=openai_upstream.url + "/v1",
        anthropic_api_key=anthropic_upstream.api_key,
        anthropic_base_url=anthropic_upstream.url,
        ollama_url=ollama_upstream.url,
        allow_private_upstreams=True,
    )


@pytest.fixture
async def user(app: Harness) -> User:
    return await caller(app)


async def _chat(app: Harness, user: User, **body: Any) -> Any:
    return await app.client.post(
        "/api/chat", json={"messages": MESSAGES} | body, headers=user.headers
    )


async def _profile(harness: Harness, owner: str, upstream: FakeUpstream, **fields: Any) -> str:
    """An OpenAI profile of `owner` with the fake's key; its id."""

    async def work(services: Services) -> str:
        new = ProfileCreate(
            name="OpenAI Production",
            type="text",
            provider="openai",
            api_key=OPENAI_TEST_KEY,
            url=upstream.url + "/v1",
            **fields,
        )
        return (await services.profiles.create(owner, new, allow_private=True)).id

    profile_id: str = await harness.run(work)
    return profile_id


class TestContract:
    async def test_document_response(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        openai_upstream.reply("The capital of France is Paris.")

        data = data_of(await _chat(app, user, provider="openai", model="fake-model"))

        assert data["response"] == "The capital of France is Paris."
        assert data["provider"] == "openai"
        assert data["model"] == "fake-model"
        usage = data["usage"]
        assert set(usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        # What the original server answered, kept for its web app.
        assert data["role"] == "assistant"
        assert data["content"] == data["response"]
        sent = openai_upstream.requests[-1].body
        assert [m["role"] for m in sent["messages"]] == ["system", "user"]

    async def test_ollama_model_omitted_is_the_first_listed(
        self, app: Harness, user: User, ollama_upstream: FakeUpstream
    ) -> None:
        data = data_of(await _chat(app, user, provider="ollama"))

        assert data["model"] == ollama_upstream.models[0]
        assert data["response"] == "echo: What is the capital of France?"
        assert data["provider"] == "ollama"

    async def test_claude_is_anthropic(
        self, app: Harness, user: User, anthropic_upstream: FakeUpstream
    ) -> None:
        data = data_of(await _chat(app, user, provider="claude", model="claude-fake"))

        assert data["provider"] == "claude"
        assert data["model"] == "claude-fake"
        assert anthropic_upstream.requests

    async def test_model_omitted_is_the_settings_default(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        body = {
            "apiKey": OPENAI_TEST_KEY,
            "endpointUrl": openai_upstream.url + "/v1",
            "defaultModel": "fake-model-2",
        }
        message_of(
            await app.client.put("/api/settings/openai", json=body, headers=user.token_headers)
        )

        data = data_of(await _chat(app, user, provider="openai"))

        assert data["model"] == "fake-model-2"


class TestProfiles:
    async def test_profile_model_and_key_serve(
        self, harness_factory: HarnessFactory, openai_upstream: FakeUpstream
    ) -> None:
        # No operator key: only the profile's key can serve the call.
        harness = await harness_factory(allow_private_upstreams=True)
        user = await caller(harness)
        profile_id = await _profile(
            harness, user.id, openai_upstream, options={"model": "fake-model-2"}
        )

        data = data_of(await _chat(harness, user, provider="openai", profileId=profile_id))

        assert data["model"] == "fake-model-2"
        assert openai_upstream.requests[-1].headers["authorization"] == f"Bearer {OPENAI_TEST_KEY}"

    async def test_another_users_profile_is_not_found(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        other = await caller(app, "other@example.com")
        profile_id = await _profile(app, other.id, openai_upstream)

        response = await _chat(app, user, provider="openai", profileId=profile_id)

        error_of(response, 404, "NOT_FOUND")

    async def test_profile_of_another_provider_is_400(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        profile_id = await _profile(app, user.id, openai_upstream)

        response = await _chat(app, user, provider="ollama", profileId=profile_id)

        error_of(response, 400, "BAD_REQUEST")


class TestBadInput:
    async def test_unknown_provider(self, app: Harness, user: User) -> None:
        response = await _chat(app, user, provider="nonesuch", model="x")

        assert "provider" in error_of(response, 400, "VALIDATION_ERROR")

    @pytest.mark.parametrize(
        "body",
        [
            {"provider": "openai", "messages": []},
            {"provider": "openai", "messages": [{"role": "tool", "content": "x"}]},
            {"messages": MESSAGES},
            {"provider": "openai", "messages": MESSAGES, "stream": True},
        ],
    )
    async def test_malformed_body(self, app: Harness, user: User, body: dict[str, Any]) -> None:
        response = await app.client.post("/api/chat", json=body, headers=user.headers)

        error_of(response, 400, "VALIDATION_ERROR")

    async def test_provider_not_configured(self, app: Harness, user: User) -> None:
        response = await _chat(app, user, provider="gemini", model="gemini-fake")

        error_of(response, 404)


class TestUpstream:
    async def test_provider_down_is_503(
        self, app: Harness, user: User, ollama_upstream: FakeUpstream
    ) -> None:
        ollama_upstream.fail(status=503, path_contains="/api/chat")

        response = await _chat(app, user, provider="ollama", model="llama-fake:latest")

        error_of(response, 503, "PROVIDER_CONNECTION_ERROR")


class TestAuthorization:
    async def test_credentials_required(self, app: Harness) -> None:
        response = await app.client.post(
            "/api/chat", json={"provider": "ollama", "messages": MESSAGES}
        )

        error_of(response, 401)

    async def test_refused_before_the_body_is_read(self, app: Harness) -> None:
        response = await app.client.post("/api/chat", json={"messages": "not a list"})

        error_of(response, 401)

    async def test_a_key_needs_the_chat_scope(self, app: Harness) -> None:
        models_only = await app.user("models@example.com", scopes=["models"])

        error_of(await _chat(app, models_only, provider="ollama"), 403)

    async def test_a_chat_key_is_enough(self, app: Harness) -> None:
        chat_only = await app.user("chat@example.com", scopes=["chat"])

        data_of(await _chat(app, chat_only, provider="ollama"))
