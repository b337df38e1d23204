"""Contract: `/api/profiles*` (document section "Profiles")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text

from switchboard.core.container import Services
from tests.faces.spoonfeeder.conftest import data_of, error_of, message_of
from tests.fixtures.app import Harness, User
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

pytestmark = pytest.mark.asyncio

# The fields of a profile in the document's answers.
PROFILE_FIELDS = {
    "id",
    "name",
    "description",
    "type",
    "provider",
    "api_key",
    "url",
    "options",
    "prompt_template",
    "input_modalities",
    "output_modalities",
    "created_at",
    "updated_at",
}
MODEL_FIELDS = {"id", "profile_id", "model_id", "name", "created_at"}
ISO_Z = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


@pytest.fixture
async def live(
    harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
) -> Harness:
    """An app whose users may point profiles at the loopback fake upstreams."""
    return await harness_factory(allow_private_upstreams=True)


def created_body(upstream: FakeUpstream, **changes: Any) -> dict[str, Any]:
    """The document's create example, pointed at the fake OpenAI."""
    body: dict[str, Any] = {
        "name": "OpenAI Production",
        "description": "Production OpenAI account",
        "type": "text",
        "provider": "openai",
        "apiKey": OPENAI_TEST_KEY,
        "url": upstream.url + "/v1",
        "options": {"temperature": 0.7, "max_tokens": 4096},
        "promptTemplate": "You are a helpful assistant.",
        "inputModalities": ["text"],
        "outputModalities": ["text"],
    }
    return body | changes


async def create(harness: Harness, user: User, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = data_of(
        await harness.client.post("/api/profiles", headers=user.token_headers, json=body), 201
    )
    return created


class TestCrud:
    async def test_create_golden(self, live: Harness, openai_upstream: FakeUpstream) -> None:
        alice = await live.user("alice@example.com")
        data = await create(live, alice, created_body(openai_upstream))

        assert set(data) == PROFILE_FIELDS
        assert data["name"] == "OpenAI Production"
        assert data["description"] == "Production OpenAI account"
        assert data["type"] == "text" and data["provider"] == "openai"
        assert data["api_key"] == "sk-...CRET"  # masked to the last 4 characters
        assert data["url"] == openai_upstream.url + "/v1"
        assert data["options"] == {"temperature": 0.7, "max_tokens": 4096}
        assert data["prompt_template"] == "You are a helpful assistant."
        assert data["input_modalities"] == ["text"] and data["output_modalities"] == ["text"]
        assert isinstance(data["id"], str)
        for stamp in ("created_at", "updated_at"):
            assert data[stamp].endswith("Z")

    async def test_the_key_is_stored_encrypted_and_never_answered(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        data = await create(live, alice, created_body(openai_upstream))

        async def stored(services: Services) -> str:
            row = await services.uow.session.execute(
                text("SELECT encrypted_key FROM provider_connections WHERE id = :id"),
                {"id": data["id"]},
            )
            return str(row.scalar_one())

        ciphertext = await live.run(stored)
        assert OPENAI_TEST_KEY not in ciphertext
        listed = await live.client.get("/api/profiles", headers=alice.token_headers)
        got = await live.client.get(f"/api/profiles/{data['id']}", headers=alice.token_headers)
        assert OPENAI_TEST_KEY not in listed.text + got.text
        assert data_of(got) == data

    async def test_list_and_provider_filter(
        self, live: Harness, openai_upstream: FakeUpstream, ollama_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        first = await create(live, alice, created_body(openai_upstream))
        local = await create(
            live,
            alice,
            {
                "name": "Local Ollama",
                "type": "text",
                "provider": "ollama",
                "url": ollama_upstream.url,
            },
        )
        claude = await create(
            live,
            alice,
            {
                "name": "Claude",
                "type": "text",
                "provider": "claude",
                "apiKey": "sk-ant-0123456789xyz",
            },
        )
        headers = alice.token_headers

        every = data_of(await live.client.get("/api/profiles", headers=headers))
        assert [p["id"] for p in every] == [first["id"], local["id"], claude["id"]]
        ollama = data_of(await live.client.get("/api/profiles?provider=ollama", headers=headers))
        assert [p["id"] for p in ollama] == [local["id"]]
        assert ollama[0]["api_key"] is None and ollama[0]["options"] == {}
        assert ollama[0]["input_modalities"] == ["text"]
        assert claude["provider"] == "claude"
        claudes = data_of(await live.client.get("/api/profiles?provider=claude", headers=headers))
        assert [p["id"] for p in claudes] == [claude["id"]]

    async def test_comfyui_profile_golden(self, live: Harness) -> None:
        alice = await live.user("alice@example.com")
        data = await create(
            live,
            alice,
            {
                "name": "Local ComfyUI",
                "description": "Local Stable Diffusion setup",
                "type": "image",
                "provider": "comfyui",
                "apiKey": None,
                "url": "http://localhost:8188",
                "options": {"default_steps": 20},
                "inputModalities": ["text"],
                "outputModalities": ["image"],
            },
        )
        listed = data_of(
            await live.client.get("/api/profiles?provider=comfyui", headers=alice.token_headers)
        )

        assert listed == [data]
        assert data["provider"] == "comfyui" and data["type"] == "image"
        assert data["api_key"] is None and data["prompt_template"] is None
        assert data["url"] == "http://localhost:8188"
        assert data["output_modalities"] == ["image"]

    async def test_partial_update(self, live: Harness, openai_upstream: FakeUpstream) -> None:
        alice = await live.user("alice@example.com")
        data = await create(live, alice, created_body(openai_upstream))

        updated = data_of(
            await live.client.put(
                f"/api/profiles/{data['id']}",
                headers=alice.token_headers,
                json={"name": "OpenAI Production v2", "options": {"temperature": 0.8}},
            )
        )

        assert updated["name"] == "OpenAI Production v2"
        assert updated["options"] == {"temperature": 0.8}
        unchanged = PROFILE_FIELDS - {"name", "options", "updated_at"}
        assert {k: updated[k] for k in unchanged} == {k: data[k] for k in unchanged}

    async def test_update_key_url_and_nulls(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        data = await create(live, alice, created_body(openai_upstream))
        path = f"/api/profiles/{data['id']}"
        headers = alice.token_headers

        nulled = data_of(
            await live.client.put(
                path, headers=headers, json={"promptTemplate": None, "name": None}
            )
        )
        assert nulled["prompt_template"] is None and nulled["name"] == "OpenAI Production"
        rekeyed = data_of(
            await live.client.put(path, headers=headers, json={"apiKey": "sk-other-key-99998888"})
        )
        assert rekeyed["api_key"] == "sk-...8888"
        moved = data_of(
            await live.client.put(path, headers=headers, json={"url": openai_upstream.url})
        )
        # A key never follows a changed address: it has to be given again.
        assert moved["url"] == openai_upstream.url and moved["api_key"] is None

    async def test_the_provider_does_not_change(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        data = await create(live, alice, created_body(openai_upstream))

        response = await live.client.put(
            f"/api/profiles/{data['id']}", headers=alice.token_headers, json={"provider": "gemini"}
        )

        assert "provider" in error_of(response, 400, "BAD_REQUEST")
        same = await live.client.put(
            f"/api/profiles/{data['id']}", headers=alice.token_headers, json={"provider": "openai"}
        )
        assert data_of(same)["provider"] == "openai"

    async def test_delete(self, live: Harness, openai_upstream: FakeUpstream) -> None:
        alice = await live.user("alice@example.com")
        data = await create(live, alice, created_body(openai_upstream))
        path = f"/api/profiles/{data['id']}"

        assert message_of(await live.client.delete(path, headers=alice.token_headers)) == (
            "Profile deleted"
        )
        error_of(await live.client.get(path, headers=alice.token_headers), 404, "NOT_FOUND")
        assert data_of(await live.client.get("/api/profiles", headers=alice.token_headers)) == []


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"name": "x", "type": "text", "provider": "skynet"}, "VALIDATION_ERROR"),
            ({"type": "text", "provider": "openai"}, "VALIDATION_ERROR"),
            ({"name": "x", "type": "hologram", "provider": "openai"}, "VALIDATION_ERROR"),
            ({"name": "x", "type": "text", "provider": "openai", "extra": 1}, "VALIDATION_ERROR"),
            ({"name": "", "type": "text", "provider": "openai"}, "VALIDATION_ERROR"),
        ],
    )
    async def test_create_refuses(self, harness: Harness, body: dict[str, Any], code: str) -> None:
        alice = await harness.user("alice@example.com")
        response = await harness.client.post(
            "/api/profiles", headers=alice.token_headers, json=body
        )
        error_of(response, 400, code)

    async def test_a_private_url_is_refused_for_a_remote_user(self, harness: Harness) -> None:
        alice = await harness.user("alice@example.com")
        response = await harness.client.post(
            "/api/profiles",
            headers=alice.token_headers,
            json={"name": "x", "type": "text", "provider": "ollama", "url": "http://127.0.0.1:1"},
        )
        assert "base URL cannot be used" in error_of(response, 400, "BAD_REQUEST")
        assert data_of(await harness.client.get("/api/profiles", headers=alice.token_headers)) == []

    async def test_unknown_provider_filter(self, harness: Harness) -> None:
        alice = await harness.user("alice@example.com")
        response = await harness.client.get(
            "/api/profiles?provider=skynet", headers=alice.token_headers
        )
        error_of(response, 400, "VALIDATION_ERROR")


class TestAuthorization:
    async def test_another_users_profile_is_not_found(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        bob = await live.user("bob@example.com")
        data = await create(live, alice, created_body(openai_upstream))
        path = f"/api/profiles/{data['id']}"
        headers = bob.token_headers

        error_of(await live.client.get(path, headers=headers), 404)
        error_of(await live.client.put(path, headers=headers, json={"name": "mine"}), 404)
        error_of(await live.client.delete(path, headers=headers), 404)
        error_of(await live.client.get(f"{path}/models", headers=headers), 404)
        error_of(
            await live.client.post(f"{path}/models", headers=headers, json={"modelId": "m"}), 404
        )
        error_of(await live.client.post(f"{path}/models/sync", headers=headers), 404)
        assert data_of(await live.client.get("/api/profiles", headers=headers)) == []
        assert data_of(await live.client.get(path, headers=alice.token_headers)) == data

    async def test_the_default_connection_is_not_a_profile(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        profile = await create(live, alice, created_body(openai_upstream))

        async def save_default(services: Services) -> str:
            saved = await services.providers.save_connection(
                alice.id, "openai", api_key="sk-default-key-12345678", base_url=openai_upstream.url
            )
            return saved.id

        default_id = await live.run(save_default)
        listed = data_of(await live.client.get("/api/profiles", headers=alice.token_headers))
        assert [p["id"] for p in listed] == [profile["id"]]
        error_of(
            await live.client.get(f"/api/profiles/{default_id}", headers=alice.token_headers), 404
        )

    async def test_api_keys_cannot_manage_profiles(self, harness: Harness) -> None:
        alice = await harness.user("alice@example.com", scopes=["chat", "models"])
        response = await harness.client.get("/api/profiles", headers=alice.headers)
        error_of(response, 403)


class TestModels:
    async def test_add_list_remove_golden(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        profile = await create(live, alice, created_body(openai_upstream))
        path = f"/api/profiles/{profile['id']}/models"
        headers = alice.token_headers

        added = data_of(
            await live.client.post(
                path, headers=headers, json={"modelId": "gpt-4-turbo", "name": "GPT-4 Turbo"}
            ),
            201,
        )
        assert set(added) == MODEL_FIELDS
        assert added["profile_id"] == profile["id"]
        assert added["model_id"] == "gpt-4-turbo" and added["name"] == "GPT-4 Turbo"
        slashed = data_of(
            await live.client.post(path, headers=headers, json={"modelId": "library/llama3:8b"}),
            201,
        )
        assert data_of(await live.client.get(path, headers=headers)) == [added, slashed]

        removed = await live.client.delete(f"{path}/library/llama3:8b", headers=headers)
        assert message_of(removed) == "Model removed from profile"
        by_id = await live.client.delete(f"{path}/{added['id']}", headers=headers)
        assert message_of(by_id) == "Model removed from profile"
        assert data_of(await live.client.get(path, headers=headers)) == []
        error_of(await live.client.delete(f"{path}/gpt-4-turbo", headers=headers), 404)

    async def test_a_model_is_added_once(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        profile = await create(live, alice, created_body(openai_upstream))
        path = f"/api/profiles/{profile['id']}/models"

        data_of(
            await live.client.post(path, headers=alice.token_headers, json={"modelId": "m"}), 201
        )
        again = await live.client.post(path, headers=alice.token_headers, json={"modelId": "m"})
        error_of(again, 409)
        missing = await live.client.post(path, headers=alice.token_headers, json={"name": "m"})
        error_of(missing, 400, "VALIDATION_ERROR")

    async def test_sync_golden(self, live: Harness, openai_upstream: FakeUpstream) -> None:
        alice = await live.user("alice@example.com")
        profile = await create(live, alice, created_body(openai_upstream))
        path = f"/api/profiles/{profile['id']}/models"
        headers = alice.token_headers
        kept = data_of(
            await live.client.post(path, headers=headers, json={"modelId": "fake-model"}), 201
        )
        await live.client.post(path, headers=headers, json={"modelId": "retired-model"})
        openai_upstream.models = ["fake-model", "new-a", "new-b"]

        synced = data_of(await live.client.post(f"{path}/sync", headers=headers))

        assert synced == {"added": 2, "removed": 1, "models": ["fake-model", "new-a", "new-b"]}
        listed = data_of(await live.client.get(path, headers=headers))
        assert [m["model_id"] for m in listed] == ["fake-model", "new-a", "new-b"]
        assert listed[0] == kept
        assert any(r.path == "/v1/models" for r in openai_upstream.requests)

    async def test_sync_when_the_provider_fails_is_503(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        profile = await create(live, alice, created_body(openai_upstream))
        openai_upstream.fail(status=503)

        response = await live.client.post(
            f"/api/profiles/{profile['id']}/models/sync", headers=alice.token_headers
        )

        error_of(response, 503, "PROVIDER_CONNECTION_ERROR")


class TestConnection:
    async def test_test_connection_golden(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        response = await live.client.post(
            "/api/profiles/test-connection",
            headers=alice.token_headers,
            json={
                "provider": "openai",
                "apiKey": OPENAI_TEST_KEY,
                "url": openai_upstream.url + "/v1",
            },
        )

        data = data_of(response)
        assert data["connected"] is True
        assert isinstance(data["latency"], int) and data["latency"] >= 0
        assert data["models"] == ["fake-model", "fake-model-2"]
        # Nothing was saved.
        assert data_of(await live.client.get("/api/profiles", headers=alice.token_headers)) == []

    async def test_a_refused_key_is_reported_and_not_echoed(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        response = await live.client.post(
            "/api/profiles/test-connection",
            headers=alice.token_headers,
            json={
                "provider": "openai",
                "apiKey": "sk-wrong-key-123456",
                "url": openai_upstream.url + "/v1",
            },
        )

        # As the settings test answers a failure: 200, `connected: false` and why.
        data = data_of(response)
        assert data["connected"] is False
        assert isinstance(data["error"], str) and data["error"]
        assert "sk-wrong-key-123456" not in response.text

    async def test_comfyui_cannot_be_tested_as_a_chat_provider(self, live: Harness) -> None:
        alice = await live.user("alice@example.com")
        response = await live.client.post(
            "/api/profiles/test-connection",
            headers=alice.token_headers,
            json={"provider": "comfyui", "url": "http://localhost:8188"},
        )
        error_of(response, 400, "BAD_REQUEST")

    async def test_a_comfyui_profile_has_no_models_to_sync(self, live: Harness) -> None:
        alice = await live.user("alice@example.com")
        body = {"name": "C", "type": "image", "provider": "comfyui", "url": "http://localhost:8188"}
        profile = await create(live, alice, body)

        response = await live.client.post(
            f"/api/profiles/{profile['id']}/models/sync", headers=alice.token_headers
        )

        assert "cannot chat" in error_of(response, 400, "BAD_REQUEST")

    async def test_a_private_url_is_refused_for_a_remote_user(self, harness: Harness) -> None:
        alice = await harness.user("alice@example.com")
        response = await harness.client.post(
            "/api/profiles/test-connection",
            headers=alice.token_headers,
            json={"provider": "ollama", "url": "http://127.0.0.1:1"},
        )
        error_of(response, 400, "BAD_REQUEST")


class TestChatResolution:
    async def test_a_profile_id_resolves_to_its_own_endpoint(
        self, live: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await live.user("alice@example.com")
        profile = await create(live, alice, created_body(openai_upstream))

        async def resolve(services: Services) -> tuple[str | None, str | None]:
            endpoint = await services.providers.endpoint_for(
                alice.id, "openai", connection_id=profile["id"]
            )
            return endpoint.base_url, endpoint.api_key

        assert await live.run(resolve) == (openai_upstream.url + "/v1", OPENAI_TEST_KEY)
