"""`/api/settings`: the caller's default provider connections, keys masked and encrypted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from switchboard.models import ProviderConnection
from tests.faces.spoonfeeder.conftest import caller, data_of, error_of, message_of
from tests.fixtures.app import Harness, User
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

HarnessFactory = Callable[..., Awaitable[Harness]]
FIELDS = {
    "id",
    "provider",
    "apiKey",
    "endpointUrl",
    "defaultModel",
    "lastTested",
    "status",
    "errorMessage",
    "createdAt",
    "updatedAt",
}


@pytest.fixture
async def app(harness_factory: HarnessFactory) -> Harness:
    """The app; the fakes live on loopback, which users may reach here."""
    return await harness_factory(allow_private_upstreams=True)


@pytest.fixture
async def user(app: Harness) -> User:
    return await caller(app)


async def _put_openai(
    app: Harness, user: User, upstream: FakeUpstream, key: str = OPENAI_TEST_KEY
) -> None:
    body = {"apiKey": key, "endpointUrl": upstream.url + "/v1", "defaultModel": "gpt-4o"}
    response = await app.client.put("/api/settings/openai", json=body, headers=user.token_headers)
    assert message_of(response) == "Settings for openai updated"


async def _get(app: Harness, user: User, provider: str) -> dict[str, Any]:
    data: dict[str, Any] = data_of(
        await app.client.get(f"/api/settings/{provider}", headers=user.token_headers)
    )
    return data


class TestSave:
    async def test_document_fields_key_masked(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        await _put_openai(app, user, openai_upstream)

        data = await _get(app, user, "openai")

        assert set(data) == FIELDS
        assert data["provider"] == "openai"
        # The document's mask: a recognisable prefix and the last 4 characters only.
        assert data["apiKey"] == "sk-...CRET"
        assert data["endpointUrl"] == openai_upstream.url + "/v1"
        assert data["defaultModel"] == "gpt-4o"
        assert data["lastTested"] is None
        assert data["errorMessage"] is None
        assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
        listed = data_of(await app.client.get("/api/settings", headers=user.token_headers))
        assert listed == [data]

    async def test_key_is_stored_encrypted(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        await _put_openai(app, user, openai_upstream)

        async with app.ctx.unit_of_work() as uow:
            rows = (await uow.session.execute(select(ProviderConnection))).scalars().all()
            stored = [r.encrypted_key for r in rows if r.user_id == user.id]
        assert stored and stored[0] is not None
        assert OPENAI_TEST_KEY not in stored[0]

    async def test_claude_is_anthropic(
        self, app: Harness, user: User, anthropic_upstream: FakeUpstream
    ) -> None:
        body = {"apiKey": "sk-ant-test-key-1234", "endpointUrl": anthropic_upstream.url}
        response = await app.client.put(
            "/api/settings/claude", json=body, headers=user.token_headers
        )

        assert message_of(response) == "Settings for claude updated"
        assert (await _get(app, user, "claude"))["provider"] == "claude"

    async def test_ollama_needs_no_key(
        self, app: Harness, user: User, ollama_upstream: FakeUpstream
    ) -> None:
        body = {"endpointUrl": ollama_upstream.url}
        response = await app.client.put(
            "/api/settings/ollama", json=body, headers=user.token_headers
        )

        message_of(response)
        assert (await _get(app, user, "ollama"))["apiKey"] is None

    async def test_delete_then_not_found(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        await _put_openai(app, user, openai_upstream)

        response = await app.client.delete("/api/settings/openai", headers=user.token_headers)

        assert message_of(response) == "Settings for openai deleted"
        error_of(
            await app.client.get("/api/settings/openai", headers=user.token_headers),
            404,
            "NOT_FOUND",
        )
        assert data_of(await app.client.get("/api/settings", headers=user.token_headers)) == []


class TestConnectionTest:
    async def test_connected_with_latency_and_model(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        await _put_openai(app, user, openai_upstream)

        response = await app.client.post("/api/settings/openai/test", headers=user.token_headers)

        data = data_of(response)
        assert data["connected"] is True
        assert isinstance(data["latency"], int) and data["latency"] >= 0
        assert data["model"] == "gpt-4o"
        assert isinstance(data["message"], str)
        assert any(r.path.endswith("/models") for r in openai_upstream.requests)
        kept = await _get(app, user, "openai")
        assert kept["status"] == "connected"
        assert kept["lastTested"] is not None

    async def test_refused_key_is_a_failed_test(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        await _put_openai(app, user, openai_upstream, key="sk-wrong-0000000000000")

        response = await app.client.post("/api/settings/openai/test", headers=user.token_headers)

        data = data_of(response)
        assert data["connected"] is False
        assert isinstance(data["error"], str) and data["error"]
        kept = await _get(app, user, "openai")
        assert kept["status"] == "error"
        assert kept["errorMessage"] == data["error"]

    async def test_ollama_connected(
        self, app: Harness, user: User, ollama_upstream: FakeUpstream
    ) -> None:
        body = {"endpointUrl": ollama_upstream.url}
        message_of(
            await app.client.put("/api/settings/ollama", json=body, headers=user.token_headers)
        )

        response = await app.client.post("/api/settings/ollama/test", headers=user.token_headers)

        data = data_of(response)
        assert data["connected"] is True
        assert data["model"] is None

    async def test_upstream_down_is_a_failed_test(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        await _put_openai(app, user, openai_upstream)
        openai_upstream.fail(status=503)

        response = await app.client.post("/api/settings/openai/test", headers=user.token_headers)

        assert data_of(response)["connected"] is False


class TestBadInput:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/settings/gemini"),
            ("DELETE", "/api/settings/gemini"),
            ("POST", "/api/settings/gemini/test"),
        ],
    )
    async def test_nothing_saved_is_404(
        self, app: Harness, user: User, method: str, path: str
    ) -> None:
        response = await app.client.request(method, path, headers=user.token_headers)

        error_of(response, 404, "NOT_FOUND")

    async def test_unknown_provider_is_400(self, app: Harness, user: User) -> None:
        response = await app.client.get("/api/settings/nonesuch", headers=user.token_headers)

        assert "provider" in error_of(response, 400, "VALIDATION_ERROR")

    async def test_api_key_required(self, app: Harness, user: User) -> None:
        response = await app.client.put(
            "/api/settings/openai", json={"defaultModel": "gpt-4o"}, headers=user.token_headers
        )

        assert "apiKey is required" in error_of(response, 400, "BAD_REQUEST")

    async def test_unknown_field(self, app: Harness, user: User) -> None:
        response = await app.client.put(
            "/api/settings/openai", json={"apiKey": "k", "x": 1}, headers=user.token_headers
        )

        error_of(response, 400, "VALIDATION_ERROR")

    async def test_private_url_refused_without_trust(self, harness: Harness) -> None:
        user = await caller(harness)
        body = {"apiKey": "sk-test-1234567890abcd", "endpointUrl": "http://127.0.0.1:9/v1"}

        response = await harness.client.put(
            "/api/settings/openai", json=body, headers=user.token_headers
        )

        error_of(response, 400)


class TestAuthorization:
    async def test_sessions_only_no_api_keys(self, app: Harness, user: User) -> None:
        error_of(await app.client.get("/api/settings", headers=user.headers), 403)

    async def test_credentials_required(self, app: Harness) -> None:
        error_of(await app.client.get("/api/settings"), 401)

    async def test_another_users_settings_are_not_seen(
        self, app: Harness, user: User, openai_upstream: FakeUpstream
    ) -> None:
        await _put_openai(app, user, openai_upstream)
        other = await caller(app, "other@example.com")

        response = await app.client.get("/api/settings/openai", headers=other.token_headers)

        error_of(response, 404)
        assert data_of(await app.client.get("/api/settings", headers=other.token_headers)) == []
