"""Contract: `/v1/models*` (bare catalogs, saved models) and `/v1/providers*`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import openai
import pytest
from sqlalchemy import text

from tests.faces.pocketllm.conftest import ISO_MS_Z, Account, data_of, error_of, sign_up_and_in
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

pytestmark = pytest.mark.asyncio

SUPPORTED = [
    "openai",
    "anthropic",
    "gemini",
    "ollama",
    "groq",
    "openrouter",
    "imagerouter",
    "mistral",
    "deepseek",
]
SAVED_FIELDS = {
    "id",
    "name",
    "provider",
    "model",
    "isDefault",
    "description",
    "providerId",
    "settings",
    "createdAt",
    "updatedAt",
}
PROVIDER_FIELDS = {
    "id",
    "provider",
    "display_name",
    "base_url",
    "is_active",
    "has_api_key",
    "api_key_preview",
    "metadata",
    "created_at",
    "updated_at",
}
IMPORT = {
    "provider": "openrouter",
    "sharedSettings": {"temperature": 0.7, "systemPrompt": "You are a helpful assistant."},
    "selections": [
        {
            "id": "openrouter/gpt-4o-mini",
            "name": "GPT-4o Mini",
            "description": "Fast reasoning tuned for chat",
        }
    ],
}


@pytest.fixture
async def live(
    harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
) -> Harness:
    """An app whose users may point connections at the loopback fake upstream."""
    return await harness_factory(allow_private_upstreams=True)


@pytest.fixture
async def live_alone(
    harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
) -> Harness:
    """`live` serving this face alone: errors on the shared `GET /v1/models` carry every
    mounted face's error fields, and this face's envelope is checked by itself."""
    return await harness_factory(allow_private_upstreams=True, faces=["pocketllm"])


async def activate(harness: Harness, account: Account, upstream: FakeUpstream) -> dict[str, object]:
    response = await harness.client.post(
        "/v1/providers/activate",
        headers=account.headers,
        json={
            "provider": "openai",
            "apiKey": OPENAI_TEST_KEY,
            "baseUrl": upstream.url + "/v1",
            "metadata": {"defaultModel": "fake-model"},
        },
    )
    data: dict[str, object] = data_of(response)
    return data


class TestCatalog:
    async def test_nothing_configured(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.get("/v1/models", headers=alice.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["models"] == []
        assert body["configured_providers"] == []
        assert body["missing_providers"] == SUPPORTED
        assert "No providers are configured" in body["message"]
        # The same response answers OpenAI clients.
        assert body["object"] == "list"
        assert "echo/echo" in [m["id"] for m in body["data"]]

    async def test_live_aggregation_golden(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(live.client, "alice@example.com")
        await activate(live, alice, openai_upstream)
        body = (await live.client.get("/v1/models", headers=alice.headers)).json()
        assert set(body) == {
            "object",
            "data",
            "models",
            "message",
            "configured_providers",
            "missing_providers",
        }
        assert body["message"] is None
        assert body["configured_providers"] == ["openai"]
        assert body["missing_providers"] == [p for p in SUPPORTED if p != "openai"]
        model = next(m for m in body["models"] if m["id"] == "fake-model")
        assert set(model) == {
            "provider",
            "id",
            "name",
            "description",
            "context_window",
            "max_output_tokens",
            "metadata",
        }
        assert model["provider"] == "openai"
        ids = [m["id"] for m in body["data"]]
        assert "openai/fake-model" in ids and "echo/echo" in ids

    async def test_filters(self, live_alone: Harness, openai_upstream: FakeUpstream) -> None:
        live = live_alone
        alice = await sign_up_and_in(live.client, "alice@example.com")
        await activate(live, alice, openai_upstream)
        get = live.client.get
        body = (await get("/v1/models?modelId=MODEL-2", headers=alice.headers)).json()
        assert [m["id"] for m in body["models"]] == ["fake-model-2"]
        body = (await get("/v1/models?query=nothing-like-it", headers=alice.headers)).json()
        assert body["models"] == [] and body["message"] == "No models matched the provided filters."
        body = (await get("/v1/models?provider=groq", headers=alice.headers)).json()
        assert body["models"] == [] and "'groq' is not configured" in body["message"]
        error_of(await get("/v1/models?provider=nope", headers=alice.headers), 400)

    async def test_openai_sdk_and_pocketllm_read_one_response(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(live.client, "alice@example.com")
        await activate(live, alice, openai_upstream)
        response = await live.client.get("/v1/models", headers=alice.headers)
        # PocketLLM's expectations.
        body = response.json()
        assert body["configured_providers"] == ["openai"]
        assert {m["id"] for m in body["models"]} >= {"fake-model", "fake-model-2"}
        # The openai SDK's models.list(), parsing this very response.
        sdk = openai.AsyncOpenAI(
            api_key=alice.access_token,
            base_url="http://testserver/v1",
            http_client=live.client,  # type: ignore[arg-type]
            max_retries=0,
        )
        listed = [m.id async for m in await sdk.models.list()]
        assert "openai/fake-model" in listed and "echo/echo" in listed

    async def test_provider_models_golden(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(live.client, "alice@example.com")
        body = (await live.client.get("/v1/providers/openai/models", headers=alice.headers)).json()
        assert body["models"] == [] and body["missing_providers"] == ["openai"]
        await activate(live, alice, openai_upstream)
        response = await live.client.get("/v1/providers/openai/models", headers=alice.headers)
        body = response.json()
        assert set(body) == {"models", "message", "configured_providers", "missing_providers"}
        assert body["configured_providers"] == ["openai"] and body["missing_providers"] == []
        assert {m["id"] for m in body["models"]} == {"fake-model", "fake-model-2"}
        error_of(await live.client.get("/v1/providers/nope/models", headers=alice.headers), 400)


class TestSavedModels:
    async def test_import_golden_and_saved_list(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.post(
            "/v1/models/import", headers=alice.headers, json=IMPORT
        )
        data = data_of(response, 201)
        assert len(data) == 1
        row = data[0]
        assert set(row) == SAVED_FIELDS
        assert row["name"] == "GPT-4o Mini" and row["provider"] == "openrouter"
        assert row["model"] == "openrouter/gpt-4o-mini"
        assert row["description"] == "Fast reasoning tuned for chat"
        assert row["isDefault"] is True  # the first model of an empty workspace
        assert ISO_MS_Z.match(row["createdAt"]) and ISO_MS_Z.match(row["updatedAt"])
        saved = await harness.client.get("/v1/models/saved", headers=alice.headers)
        assert saved.status_code == 200 and saved.json() == data
        one = data_of(await harness.client.get(f"/v1/models/{row['id']}", headers=alice.headers))
        assert one == row

    async def test_reimport_updates_instead_of_duplicating(
        self, harness: Harness, alice: Account
    ) -> None:
        await harness.client.post("/v1/models/import", headers=alice.headers, json=IMPORT)
        again = {**IMPORT, "selections": [{"id": "openrouter/gpt-4o-mini", "name": "Renamed"}]}
        await harness.client.post("/v1/models/import", headers=alice.headers, json=again)
        saved = (await harness.client.get("/v1/models/saved", headers=alice.headers)).json()
        assert [s["name"] for s in saved] == ["Renamed"]

    async def test_exactly_one_default_and_fallback(self, harness: Harness, alice: Account) -> None:
        body = {
            "provider": "openai",
            "selections": [{"id": "gpt-4o"}, {"id": "gpt-4o-mini"}, {"id": "o3"}],
        }
        rows = data_of(
            await harness.client.post("/v1/models/import", headers=alice.headers, json=body), 201
        )
        ids = [r["id"] for r in rows]
        made = data_of(
            await harness.client.post(f"/v1/models/{ids[2]}/default", headers=alice.headers)
        )
        assert made["isDefault"] is True
        saved = (await harness.client.get("/v1/models/saved", headers=alice.headers)).json()
        assert [s["id"] for s in saved if s["isDefault"]] == [ids[2]]
        deleted = await harness.client.delete(f"/v1/models/{ids[2]}", headers=alice.headers)
        assert data_of(deleted) == {"message": "Model deleted successfully"}
        saved = (await harness.client.get("/v1/models/saved", headers=alice.headers)).json()
        assert [s["id"] for s in saved if s["isDefault"]] == [ids[0]]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**IMPORT, "selections": []}, "selections"),
            ({**IMPORT, "provider": "nope"}, "provider"),
            ({**IMPORT, "providerId": "00000000-0000-0000-0000-000000000000"}, "providerId"),
            ({**IMPORT, "sharedSettings": {"apiKey": "sk-secret"}}, "apiKey"),
            ({**IMPORT, "selections": [{"id": ""}]}, "id"),
        ],
    )
    async def test_bad_import(
        self, harness: Harness, alice: Account, body: dict[str, object], field: str
    ) -> None:
        response = await harness.client.post("/v1/models/import", headers=alice.headers, json=body)
        status = 404 if field == "providerId" else 400
        assert field in error_of(response, status)


class TestProviders:
    async def test_activate_golden(self, live: Harness, openai_upstream: FakeUpstream) -> None:
        alice = await sign_up_and_in(live.client, "alice@example.com")
        data = await activate(live, alice, openai_upstream)
        assert set(data) == PROVIDER_FIELDS
        assert data["provider"] == "openai" and data["is_active"] is True
        assert data["has_api_key"] is True
        assert data["api_key_preview"] == f"sk-...{OPENAI_TEST_KEY[-4:]}"
        assert data["base_url"] == openai_upstream.url + "/v1"
        assert data["metadata"] == {"defaultModel": "fake-model"}
        assert OPENAI_TEST_KEY not in json.dumps(data)
        # Tested live first.
        assert any(r.path == "/v1/models" for r in openai_upstream.requests)
        listed = data_of(await live.client.get("/v1/providers", headers=alice.headers))
        assert listed == [data]

    async def test_rejected_key_is_400_and_nothing_stored(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(live.client, "alice@example.com")
        response = await live.client.post(
            "/v1/providers/activate",
            headers=alice.headers,
            json={
                "provider": "openai",
                "apiKey": "sk-wrong-key-123456",
                "baseUrl": openai_upstream.url + "/v1",
            },
        )
        message = error_of(response, 400)
        assert "apiKey" in message and "sk-wrong-key-123456" not in message
        assert data_of(await live.client.get("/v1/providers", headers=alice.headers)) == []

    async def test_patch_subset_and_key_removal(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(live.client, "alice@example.com")
        await activate(live, alice, openai_upstream)
        patched = data_of(
            await live.client.patch(
                "/v1/providers/openai", headers=alice.headers, json={"displayName": "Mine"}
            )
        )
        assert patched["display_name"] == "Mine" and patched["has_api_key"] is True
        cleared = data_of(
            await live.client.patch(
                "/v1/providers/openai", headers=alice.headers, json={"apiKey": None}
            )
        )
        assert cleared["has_api_key"] is False and cleared["api_key_preview"] is None

    async def test_new_base_url_drops_the_key(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(live.client, "alice@example.com")
        await activate(live, alice, openai_upstream)
        moved = data_of(
            await live.client.patch(
                "/v1/providers/openai",
                headers=alice.headers,
                json={"baseUrl": openai_upstream.url + "/other/v1"},
            )
        )
        assert moved["has_api_key"] is False

    async def test_delete_erases_the_key(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(live.client, "alice@example.com")
        await activate(live, alice, openai_upstream)
        response = await live.client.delete("/v1/providers/openai", headers=alice.headers)
        assert data_of(response)["provider"] == "openai"
        listed = data_of(await live.client.get("/v1/providers", headers=alice.headers))
        assert listed[0]["is_active"] is False and listed[0]["has_api_key"] is False
        async with live.ctx.engine.connect() as db:
            rows = (await db.execute(text("SELECT encrypted_key FROM provider_connections"))).all()
        assert rows == [(None,)]
        error_of(await live.client.delete("/v1/providers/groq", headers=alice.headers), 404)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"apiKey": "sk-1234567890"}, "provider"),
            ({"provider": "nope", "apiKey": "sk-1234567890"}, "provider"),
            ({"provider": "openai"}, "apiKey"),
            (
                {"provider": "openai", "apiKey": "k", "baseUrl": "http://169.254.169.254/v1"},
                "baseUrl",
            ),
            ({"provider": "openai", "apiKey": "k", "baseUrl": "file:///etc/passwd"}, "baseUrl"),
            ({"provider": "openai", "apiKey": "x" * 1001}, "apiKey"),
        ],
    )
    async def test_bad_activation(
        self, harness: Harness, alice: Account, body: dict[str, object], field: str
    ) -> None:
        response = await harness.client.post(
            "/v1/providers/activate", headers=alice.headers, json=body
        )
        assert field in error_of(response, 400)
