"""Contract: `/v1/chats*` and their messages, blocking and streamed."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from sqlalchemy import text

from tests.faces.pocketllm.conftest import (
    ISO_MS_Z,
    UUID,
    Account,
    data_of,
    error_of,
    sign_up_and_in,
)
from tests.fixtures.app import Harness
from tests.fixtures.sse import parse_sse
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

pytestmark = pytest.mark.asyncio

CHAT_FIELDS = {"id", "user_id", "title", "model_config", "created_at", "updated_at"}
MESSAGE_FIELDS = {"id", "chat_id", "content", "role", "created_at"}
CREATE = {
    "title": "New Chat",
    "model_config": {
        "provider": "openai",
        "model": "gpt-4",
        "apiKey": "sk-abcdefghijklmnop1234",
        "systemPrompt": "You are a helpful assistant",
        "temperature": 0.7,
        "maxTokens": 1000,
    },
}
ECHO_CHAT = {"title": "Echo", "model_config": {"provider": "echo", "model": "echo"}}


def sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    """The (type, JSON data) of every event of a whole SSE body."""
    return [(event.event, event.json()) for event in parse_sse(body)]


async def new_chat(harness: Harness, account: Account, body: Mapping[str, Any]) -> str:
    data = data_of(await harness.client.post("/v1/chats", headers=account.headers, json=body), 201)
    chat_id: str = data["id"]
    return chat_id


class TestChatCrud:
    async def test_create_golden_key_masked(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.post("/v1/chats", headers=alice.headers, json=CREATE)
        data = data_of(response, 201)
        assert set(data) == CHAT_FIELDS
        assert UUID.match(data["id"]) and data["user_id"] == alice.id
        assert data["title"] == "New Chat"
        config = data["model_config"]
        assert config == {
            "provider": "openai",
            "model": "gpt-4",
            "apiKey": "sk-...1234",
            "systemPrompt": "You are a helpful assistant",
            "temperature": 0.7,
            "maxTokens": 1000,
        }
        assert "abcdefghijklmnop" not in response.text
        assert ISO_MS_Z.match(data["created_at"]) and ISO_MS_Z.match(data["updated_at"])

    async def test_list_get_golden(self, harness: Harness, alice: Account) -> None:
        chat_id = await new_chat(harness, alice, CREATE)
        listed = data_of(await harness.client.get("/v1/chats", headers=alice.headers))
        assert [c["id"] for c in listed] == [chat_id]
        assert set(listed[0]) == CHAT_FIELDS
        one = data_of(await harness.client.get(f"/v1/chats/{chat_id}", headers=alice.headers))
        assert one == listed[0]
        assert "abcdefghijklmnop" not in json.dumps(listed)

    async def test_key_is_stored_encrypted(self, harness: Harness, alice: Account) -> None:
        chat_id = await new_chat(harness, alice, CREATE)

        async def connection(services):  # type: ignore[no-untyped-def]
            return await services.providers.get_connection(
                alice.id, "openai", label=f"chat:{chat_id}"
            )

        found = await harness.run(connection)
        assert found is not None and found.has_key and found.key_preview == "sk-...1234"
        async with harness.ctx.engine.connect() as db:
            rows = (await db.execute(text("SELECT encrypted_key FROM provider_connections"))).all()
        assert rows and all("abcdefghijklmnop" not in str(r[0]) for r in rows)

    async def test_put_golden(self, harness: Harness, alice: Account) -> None:
        chat_id = await new_chat(harness, alice, CREATE)
        body = {
            "title": "Updated Chat Title",
            "model_config": {
                "provider": "anthropic",
                "model": "claude-3-sonnet",
                "apiKey": "sk-ant-zyxwvutsrq9876",
                "temperature": 0.5,
            },
        }
        data = data_of(
            await harness.client.put(f"/v1/chats/{chat_id}", headers=alice.headers, json=body)
        )
        assert data["title"] == "Updated Chat Title"
        config = data["model_config"]
        assert config["provider"] == "anthropic" and config["model"] == "claude-3-sonnet"
        assert config["temperature"] == 0.5 and config["maxTokens"] == 1000
        assert config["apiKey"] == "sk-...9876"

    async def test_delete_golden(self, harness: Harness, alice: Account) -> None:
        chat_id = await new_chat(harness, alice, CREATE)
        response = await harness.client.delete(f"/v1/chats/{chat_id}", headers=alice.headers)
        assert data_of(response) == {"message": "Chat deleted successfully"}
        error_of(await harness.client.get(f"/v1/chats/{chat_id}", headers=alice.headers), 404)
        async with harness.ctx.engine.connect() as db:
            rows = (await db.execute(text("SELECT id FROM provider_connections"))).all()
        assert rows == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"title": ""}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"title": 42}, "title"),
            ({"model_config": {"provider": "nope", "model": "x"}}, "provider"),
            ({"model_config": {"temperature": 3}}, "temperature"),
            ({"model_config": {"maxTokens": 0}}, "maxTokens"),
            ({"model_config": {"model": "unknown-model"}}, "model"),
            ({"model_config": {"apiKey": "sk-1234567890abcdef"}}, "provider"),
            ({"model_config": {"api_key": "x"}}, "api_key"),
            ({"title": "a\u0000b"}, "title"),
            ({"surprise": 1}, "surprise"),
        ],
    )
    async def test_bad_input(
        self, harness: Harness, alice: Account, body: dict[str, object], field: str
    ) -> None:
        response = await harness.client.post("/v1/chats", headers=alice.headers, json=body)
        assert field in error_of(response, 400)

    async def test_unknown_id_is_404(self, harness: Harness, alice: Account) -> None:
        for path in ("/v1/chats/00000000-0000-0000-0000-000000000000", "/v1/chats/not-a-uuid"):
            error_of(await harness.client.get(path, headers=alice.headers), 404)


class TestMessages:
    async def test_send_golden(self, harness: Harness, alice: Account) -> None:
        chat_id = await new_chat(harness, alice, ECHO_CHAT)
        response = await harness.client.post(
            f"/v1/chats/{chat_id}/messages",
            headers=alice.headers,
            json={"content": "Hello, how are you?"},
        )
        data = data_of(response, 201)
        assert set(data) == {"userMessage", "assistantMessage", "aiMessage"}
        user, assistant = data["userMessage"], data["assistantMessage"]
        assert set(user) == MESSAGE_FIELDS and set(assistant) == MESSAGE_FIELDS
        assert user["chat_id"] == chat_id and assistant["chat_id"] == chat_id
        assert user["role"] == "user" and user["content"] == "Hello, how are you?"
        assert assistant["role"] == "assistant"
        assert assistant["content"] == "Echo: Hello, how are you?"
        assert data["aiMessage"] == assistant
        assert ISO_MS_Z.match(user["created_at"]) and ISO_MS_Z.match(assistant["created_at"])

    async def test_list_oldest_first_with_paging(self, harness: Harness, alice: Account) -> None:
        chat_id = await new_chat(harness, alice, ECHO_CHAT)
        for word in ("one", "two", "three"):
            await harness.client.post(
                f"/v1/chats/{chat_id}/messages", headers=alice.headers, json={"content": word}
            )
        url = f"/v1/chats/{chat_id}/messages"
        listed = data_of(await harness.client.get(url, headers=alice.headers))
        assert [m["content"] for m in listed] == [
            "one",
            "Echo: one",
            "two",
            "Echo: two",
            "three",
            "Echo: three",
        ]
        assert all(set(m) == MESSAGE_FIELDS for m in listed)
        page = data_of(await harness.client.get(url + "?limit=2&offset=2", headers=alice.headers))
        assert [m["content"] for m in page] == ["two", "Echo: two"]

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("offset=-1", "offset"),
            ("limit=abc", "limit"),
        ],
    )
    async def test_paging_bounds(
        self, harness: Harness, alice: Account, query: str, field: str
    ) -> None:
        chat_id = await new_chat(harness, alice, ECHO_CHAT)
        response = await harness.client.get(
            f"/v1/chats/{chat_id}/messages?{query}", headers=alice.headers
        )
        assert field in error_of(response, 400)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "content"),
            ({"content": ""}, "content"),
            ({"content": "x" * 100_001}, "content"),
            ({"content": 5}, "content"),
            ({"content": "hi", "role": "assistant"}, "role"),
            ({"content": "hi", "stream": "often"}, "stream"),
        ],
    )
    async def test_bad_message(
        self, harness: Harness, alice: Account, body: dict[str, object], field: str
    ) -> None:
        chat_id = await new_chat(harness, alice, ECHO_CHAT)
        response = await harness.client.post(
            f"/v1/chats/{chat_id}/messages", headers=alice.headers, json=body
        )
        assert field in error_of(response, 400)

    async def test_stream_sse(self, harness: Harness, alice: Account) -> None:
        chat_id = await new_chat(harness, alice, ECHO_CHAT)
        response = await harness.client.post(
            f"/v1/chats/{chat_id}/messages",
            headers=alice.headers,
            json={"content": "stream these words please", "stream": True},
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response.text)
        kinds = [k for k, _ in events]
        assert kinds[0] == "start" and kinds[-1] == "done"
        assert "delta" in kinds
        start = events[0][1]
        assert set(start) == {"userMessage", "assistantMessage"}
        text = "".join(str(d["content"]) for k, d in events if k == "delta")
        assert text == "Echo: stream these words please"
        done = events[-1][1]
        assert done["assistantMessage"]["content"] == text
        assert done["aiMessage"] == done["assistantMessage"]
        listed = data_of(
            await harness.client.get(f"/v1/chats/{chat_id}/messages", headers=alice.headers)
        )
        assert [m["content"] for m in listed] == ["stream these words please", text]

    async def test_stream_on_unknown_chat_is_a_plain_404(
        self, harness: Harness, alice: Account
    ) -> None:
        response = await harness.client.post(
            "/v1/chats/00000000-0000-0000-0000-000000000000/messages",
            headers=alice.headers,
            json={"content": "x", "stream": True},
        )
        error_of(response, 404)


class TestUpstream:
    async def test_history_goes_to_the_provider_with_the_chats_own_key(
        self,
        harness_factory: Callable[..., Awaitable[Harness]],
        openai_upstream: FakeUpstream,
    ) -> None:
        harness = await harness_factory(
            openai_api_key="sk-operator-key-that-is-wrong",
            openai_base_url=openai_upstream.url + "/v1",
            allow_private_upstreams=True,
        )
        alice = await sign_up_and_in(harness.client, "alice@example.com")
        body = {
            "title": "Fake",
            "model_config": {
                "provider": "openai",
                "model": "fake-model",
                "apiKey": OPENAI_TEST_KEY,
                "systemPrompt": "Be brief",
                "temperature": 0.3,
                "maxTokens": 50,
            },
        }
        chat_id = await new_chat(harness, alice, body)
        url = f"/v1/chats/{chat_id}/messages"
        first = data_of(
            await harness.client.post(url, headers=alice.headers, json={"content": "first"}), 201
        )
        assert first["assistantMessage"]["content"] == "Fake reply to: first"
        await harness.client.post(url, headers=alice.headers, json={"content": "second"})
        sent = [r for r in openai_upstream.requests if r.path.endswith("/chat/completions")][-1]
        assert sent.headers["authorization"] == f"Bearer {OPENAI_TEST_KEY}"
        assert [m["content"] for m in sent.body["messages"]] == [
            "Be brief",
            "first",
            "Fake reply to: first",
            "second",
        ]
        assert sent.body["temperature"] == 0.3 and sent.body["model"] == "fake-model"

    async def test_failure_is_a_clear_error_and_the_message_is_kept(
        self,
        harness_factory: Callable[..., Awaitable[Harness]],
        openai_upstream: FakeUpstream,
    ) -> None:
        harness = await harness_factory(
            openai_api_key=OPENAI_TEST_KEY, openai_base_url=openai_upstream.url + "/v1"
        )
        alice = await sign_up_and_in(harness.client, "alice@example.com")
        chat_id = await new_chat(
            harness, alice, {"model_config": {"provider": "openai", "model": "fake-model"}}
        )
        openai_upstream.fail(status=500, message="Traceback: secret internals")
        response = await harness.client.post(
            f"/v1/chats/{chat_id}/messages", headers=alice.headers, json={"content": "keep me"}
        )
        message = error_of(response, 502)
        assert "Traceback" not in message
        listed = data_of(
            await harness.client.get(f"/v1/chats/{chat_id}/messages", headers=alice.headers)
        )
        assert [m["content"] for m in listed] == ["keep me"]

    async def test_stream_failure_ends_with_an_error_event(
        self,
        harness_factory: Callable[..., Awaitable[Harness]],
        openai_upstream: FakeUpstream,
    ) -> None:
        harness = await harness_factory(
            openai_api_key=OPENAI_TEST_KEY, openai_base_url=openai_upstream.url + "/v1"
        )
        alice = await sign_up_and_in(harness.client, "alice@example.com")
        chat_id = await new_chat(
            harness, alice, {"model_config": {"provider": "openai", "model": "fake-model"}}
        )
        openai_upstream.fail(status=503)
        response = await harness.client.post(
            f"/v1/chats/{chat_id}/messages",
            headers=alice.headers,
            json={"content": "keep me", "stream": True},
        )
        events = sse(response.text)
        assert events[0][0] == "start" and events[-1][0] == "error"
        assert events[-1][1]["status"] == 502
        listed = data_of(
            await harness.client.get(f"/v1/chats/{chat_id}/messages", headers=alice.headers)
        )
        assert [m["content"] for m in listed] == ["keep me"]
