"""`/api/models`: Ollama's models of the caller's servers, through Ollama's real API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.core.container import Services
from switchboard.core.events.ports import Subscription
from switchboard.core.events.schemas import Event
from switchboard.core.profiles.schemas import ProfileCreate
from tests.faces.spoonfeeder.conftest import caller, data_of, error_of, message_of
from tests.fixtures.app import Harness, User
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.ollama_fake import loaded_models

HarnessFactory = Callable[..., Awaitable[Harness]]
NAMESPACED = "library/llama3.2:3b"
MODELS = ["llama-fake:latest", "nomic-fake:latest", NAMESPACED]


@pytest.fixture
def ollama(ollama_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> FakeUpstream:
    """The fake Ollama with a namespaced, tagged model too, and nothing in memory."""
    monkeypatch.setattr(ollama_upstream, "models", MODELS)
    loaded_models(ollama_upstream).clear()
    return ollama_upstream


@pytest.fixture
async def app(harness_factory: HarnessFactory, ollama: FakeUpstream) -> Harness:
    """The app with the operator's OLLAMA_URL on the fake."""
    return await harness_factory(ollama_url=ollama.url)


@pytest.fixture
async def user(app: Harness) -> User:
    return await caller(app)


async def _profile(harness: Harness, owner: str, url: str, name: str) -> str:
    """An Ollama profile of `owner` on `url`; its id."""

    async def work(services: Services) -> str:
        new = ProfileCreate(name=name, type="text", provider="ollama", url=url)
        return (await services.profiles.create(owner, new, allow_private=True)).id

    profile_id: str = await harness.run(work)
    return profile_id


class TestList:
    async def test_document_fields(self, app: Harness, user: User) -> None:
        data = data_of(await app.client.get("/api/models", headers=user.headers))

        assert [m["name"] for m in data] == MODELS
        llama = data[0]
        # The document's example entry, field by field.
        assert llama["size"] == "4.0 GB"
        assert llama["loaded"] is False
        assert llama["capabilities"] == ["chat", "text"]
        assert llama["description"] == "Ollama (ollama)"
        assert llama["parameters"] == "llama-fake:latest"
        assert data[1]["capabilities"] == ["embedding"]

    async def test_loaded_models_say_so(
        self, app: Harness, user: User, ollama: FakeUpstream
    ) -> None:
        loaded_models(ollama)["llama-fake:latest"] = "2318-01-01T00:00:00Z"

        data = data_of(await app.client.get("/api/models", headers=user.headers))

        assert [m["loaded"] for m in data] == [True, False, False]

    async def test_profiles_servers_are_listed_once_each(
        self, harness_factory: HarnessFactory, ollama: FakeUpstream
    ) -> None:
        harness = await harness_factory()
        user = await caller(harness)
        profile_id = await _profile(harness, user.id, ollama.url, "Local Ollama")

        data = data_of(await harness.client.get("/api/models", headers=user.headers))

        assert [m["name"] for m in data] == MODELS
        assert data[0]["description"] == "Local Ollama (ollama)"
        assert data[0]["profileId"] == profile_id

    async def test_no_ollama_anywhere_lists_nothing(self, harness: Harness) -> None:
        user = await caller(harness)

        assert data_of(await harness.client.get("/api/models", headers=user.headers)) == []

    async def test_ollama_down_is_503(self, app: Harness, user: User, ollama: FakeUpstream) -> None:
        ollama.fail(status=500, path_contains="/api/tags")

        response = await app.client.get("/api/models", headers=user.headers)

        error_of(response, 503, "PROVIDER_CONNECTION_ERROR")


class TestOneModel:
    async def test_details_and_template(self, app: Harness, user: User) -> None:
        data = data_of(await app.client.get(f"/api/models/{NAMESPACED}", headers=user.headers))

        assert data["name"] == NAMESPACED
        assert data["size"] == "4.0 GB"
        assert data["loaded"] is False
        assert data["capabilities"] == ["chat", "text", "tools"]
        assert data["description"] == "llama 8B, Q4_K_M"
        assert data["parameters"] == 'num_ctx=8192, stop="<|eot_id|>"'
        assert data["template"] == "{{ .Prompt }}"

    async def test_url_encoded_name(self, app: Harness, user: User) -> None:
        response = await app.client.get(
            "/api/models/library%2Fllama3.2%3A3b/status", headers=user.headers
        )

        assert data_of(response)["name"] == NAMESPACED

    async def test_load_status_unload(self, app: Harness, user: User, ollama: FakeUpstream) -> None:
        base = f"/api/models/{NAMESPACED}"

        loaded = await app.client.post(f"{base}/load", headers=user.headers)
        assert message_of(loaded) == f"Model {NAMESPACED} loaded successfully"
        assert NAMESPACED in loaded_models(ollama)

        status = data_of(await app.client.get(f"{base}/status", headers=user.headers))
        assert status["name"] == NAMESPACED
        assert status["loaded"] is True
        # Ollama's default keep-alive: the last use is its expiry less five minutes.
        last_used = datetime.fromisoformat(status["lastUsed"].replace("Z", "+00:00"))
        assert abs(last_used - datetime.now(UTC)) < timedelta(seconds=30)

        unloaded = await app.client.post(f"{base}/unload", headers=user.headers)
        assert message_of(unloaded) == f"Model {NAMESPACED} unloaded successfully"
        status = data_of(await app.client.get(f"{base}/status", headers=user.headers))
        assert status == {"name": NAMESPACED, "loaded": False, "lastUsed": None, "expiresAt": None}

    async def test_loading_and_unloading_notify_the_user(
        self, app: Harness, user: User, ollama: FakeUpstream
    ) -> None:
        subscription = await app.ctx.bus.subscribe([f"user:{user.id}"])
        try:
            base = "/api/models/llama-fake:latest"
            message_of(await app.client.post(f"{base}/load", headers=user.headers))
            message_of(await app.client.post(f"{base}/unload", headers=user.headers))
            seen = [event async for event in _first(subscription, 2)]
        finally:
            await subscription.close()
        model = "Model llama-fake:latest"
        assert [(e.type, e.data) for e in seen] == [
            ("notification", {"type": "success", "message": f"{model} loaded successfully"}),
            ("notification", {"type": "info", "message": f"{model} unloaded successfully"}),
        ]

    async def test_kept_forever_has_no_known_last_use(
        self, app: Harness, user: User, ollama: FakeUpstream
    ) -> None:
        loaded_models(ollama)["llama-fake:latest"] = "2318-01-01T00:00:00Z"

        status = data_of(
            await app.client.get("/api/models/llama-fake/status", headers=user.headers)
        )

        assert status["loaded"] is True
        assert status["lastUsed"] is None

    @pytest.mark.parametrize(
        ("method", "suffix"), [("GET", ""), ("GET", "/status"), ("POST", "/load")]
    )
    async def test_unknown_model_is_404(
        self, app: Harness, user: User, method: str, suffix: str
    ) -> None:
        response = await app.client.request(
            method, f"/api/models/nobody/none:1b{suffix}", headers=user.headers
        )

        error_of(response, 404, "NOT_FOUND")

    async def test_ollama_down_is_503(self, app: Harness, user: User, ollama: FakeUpstream) -> None:
        ollama.fail(status=503, path_contains="/api/generate")

        response = await app.client.post("/api/models/llama-fake/load", headers=user.headers)

        error_of(response, 503, "PROVIDER_CONNECTION_ERROR")


class TestAuthorization:
    async def test_credentials_required(self, app: Harness) -> None:
        error_of(await app.client.get("/api/models"), 401)

    async def test_a_key_needs_the_models_scope(self, app: Harness) -> None:
        chat_only = await app.user("chat@example.com", scopes=["chat"])

        error_of(await app.client.get("/api/models", headers=chat_only.headers), 403)

    async def test_another_users_profile_is_not_found(
        self, app: Harness, user: User, ollama: FakeUpstream
    ) -> None:
        other = await caller(app, "other@example.com")
        profile_id = await _profile(app, other.id, ollama.url, "Theirs")

        response = await app.client.post(
            f"/api/models/llama-fake/load?profileId={profile_id}", headers=user.headers
        )

        error_of(response, 404, "NOT_FOUND")
        assert loaded_models(ollama) == {}

    async def test_own_profile_serves(self, app: Harness, user: User, ollama: FakeUpstream) -> None:
        profile_id = await _profile(app, user.id, ollama.url, "Mine")

        response = await app.client.post(
            f"/api/models/llama-fake/load?profileId={profile_id}", headers=user.headers
        )

        message_of(response)
        assert "llama-fake:latest" in loaded_models(ollama)


async def _first(subscription: Subscription, count: int) -> AsyncIterator[Event]:
    """The first `count` events of `subscription` (at most 10 s for them all)."""
    async with asyncio.timeout(10):
        async for event in subscription:
            yield event
            count -= 1
            if count == 0:
                return
