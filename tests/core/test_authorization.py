"""Cross-user authorization matrix across the core services.

User A owns a conversation with messages, provider connections, usage and an API key.
User B, knowing every one of A's ids, tries each operation: an operation on A's object is
"not found" (never "forbidden", which would confirm it exists), a listing shows nothing of
A's, and afterwards A's data is unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from switchboard.core.container import Services
from switchboard.core.conversations.runner import ReplyOptions
from switchboard.core.conversations.schemas import ConversationCreate, ConversationUpdate
from switchboard.core.errors import ErrorKind, SwitchboardError
from switchboard.core.providers.schemas import ConnectionUpdate
from switchboard.core.usage.recorder import UsageEntry
from switchboard.core.usage.repository import UsageRepository
from tests.fixtures.app import Harness, User

A_KEY = "sk-proj-alice-0123456789abcdefghijklmnop"
LOCAL = "http://127.0.0.1:18080/v1"
OPTIONS = ReplyOptions(source="test")


@dataclass
class World:
    """A's objects and B, who should not reach them."""

    harness: Harness
    alice: User
    bob: User
    conversation_id: str
    connection_id: str
    work_connection_id: str
    api_key_id: str


@pytest.fixture
async def world(harness: Harness) -> World:
    alice = await harness.user("alice@example.com")
    bob = await harness.user("bob@example.com")

    async def work(services: Services) -> tuple[str, str, str, str]:
        conversation = await services.conversations.create(
            alice.id, ConversationCreate(title="secret plans", provider="echo", model="echo")
        )
        for role, content in (("user", "hello"), ("assistant", "hi alice")):
            await services.conversations.append(
                alice.id, conversation.id, role=role, content=content
            )
        connection = await services.providers.save_connection(
            alice.id, "openai", api_key=A_KEY, base_url=LOCAL, allow_private=True
        )
        work_connection = await services.providers.save_connection(
            alice.id, "groq", api_key=A_KEY, label="work"
        )
        await UsageRepository(services.uow.session).insert_many(
            [UsageEntry(alice.id, "test", "openai", "gpt-4o", 100, 10, 0.5)]
        )
        keys = await services.accounts.list_api_keys(alice.id)
        return conversation.id, connection.id, work_connection.id, keys[0].id

    conversation_id, connection_id, work_id, key_id = await harness.run(work)
    return World(harness, alice, bob, conversation_id, connection_id, work_id, key_id)


Operation = Callable[[World], Awaitable[Any]]


def _as_bob(call: Callable[[Services, World], Awaitable[Any]]) -> Operation:
    async def run(w: World) -> Any:
        return await w.harness.run(lambda s: call(s, w))

    return run


async def _stream_first(w: World) -> Any:
    events = w.harness.ctx.replies.stream(w.bob.id, w.conversation_id, "hi", OPTIONS)
    assert isinstance(events, AsyncGenerator)
    try:
        return await anext(events)
    finally:
        await events.aclose()


async def _items(page: Awaitable[Any]) -> list[Any]:
    return list((await page).items)


async def _by_model(summary: Awaitable[Any]) -> list[Any]:
    result = await summary
    assert result.calls == 0 and result.cost_usd == 0
    return list(result.by_model)


async def _other_keys(s: Services, w: World) -> list[Any]:
    keys = await s.accounts.list_api_keys(w.bob.id, include_revoked=True)
    return [k for k in keys if k.id == w.api_key_id]


async def _non_echo_models(s: Services, w: World) -> list[Any]:
    catalog = await s.catalog.models(w.bob.id)
    return [m for m in catalog.models if m.provider != "echo"]


DENIED: dict[str, Operation] = {
    "conversation get": _as_bob(lambda s, w: s.conversations.get(w.bob.id, w.conversation_id)),
    "conversation get (upper-case id)": _as_bob(
        lambda s, w: s.conversations.get(w.bob.id, w.conversation_id.upper())
    ),
    "conversation update": _as_bob(
        lambda s, w: s.conversations.update(
            w.bob.id, w.conversation_id, ConversationUpdate(title="pwned")
        )
    ),
    "conversation delete": _as_bob(
        lambda s, w: s.conversations.delete(w.bob.id, w.conversation_id)
    ),
    "conversation messages": _as_bob(
        lambda s, w: s.conversations.messages(w.bob.id, w.conversation_id)
    ),
    "conversation append": _as_bob(
        lambda s, w: s.conversations.append(
            w.bob.id, w.conversation_id, role="user", content="injected"
        )
    ),
    "conversation require": _as_bob(
        lambda s, w: s.conversations.require(w.bob.id, w.conversation_id)
    ),
    "reply send": lambda w: w.harness.ctx.replies.send(w.bob.id, w.conversation_id, "hi", OPTIONS),
    "reply stream": _stream_first,
    "provider delete connection": _as_bob(
        lambda s, w: s.providers.delete_connection(w.bob.id, w.connection_id)
    ),
    "provider endpoint by A's connection id": _as_bob(
        lambda s, w: s.providers.endpoint_for(w.bob.id, "openai", connection_id=w.connection_id)
    ),
    "provider endpoint by A's labelled connection id": _as_bob(
        lambda s, w: s.providers.endpoint_for(w.bob.id, "groq", connection_id=w.work_connection_id)
    ),
    "provider update connection": _as_bob(
        lambda s, w: s.providers.update_connection(
            w.bob.id, "openai", ConnectionUpdate(base_url="https://evil.example/v1")
        )
    ),
    "provider deactivate connection": _as_bob(
        lambda s, w: s.providers.deactivate_connection(w.bob.id, "openai")
    ),
    "provider test connection": _as_bob(
        lambda s, w: s.providers.test_connection(w.bob.id, "openai")
    ),
    "api key revoke": _as_bob(lambda s, w: s.accounts.revoke_api_key(w.bob.id, w.api_key_id)),
}

EMPTY: dict[str, Operation] = {
    "conversation list": _as_bob(
        lambda s, w: _items(s.conversations.list_conversations(w.bob.id, limit=100))
    ),
    "conversation history": _as_bob(
        lambda s, w: s.conversations.history(w.bob.id, w.conversation_id, 100)
    ),
    "provider list connections": _as_bob(lambda s, w: s.providers.list_connections(w.bob.id)),
    "provider configured providers": _as_bob(
        lambda s, w: s.providers.configured_providers(w.bob.id)
    ),
    "usage summary by model": _as_bob(lambda s, w: _by_model(s.usage.summary(w.bob.id))),
    "api key list": _as_bob(_other_keys),
    "catalog (beyond echo)": _as_bob(_non_echo_models),
}


async def _assert_alice_untouched(w: World) -> None:
    async def check(s: Services) -> None:
        conversation = await s.conversations.get(w.alice.id, w.conversation_id)
        assert conversation.title == "secret plans"
        page = await s.conversations.messages(w.alice.id, w.conversation_id)
        assert [m.content for m in page.items] == ["hello", "hi alice"]
        endpoint = await s.providers.endpoint_for(w.alice.id, "openai")
        assert (endpoint.base_url, endpoint.api_key) == (LOCAL, A_KEY)
        groq = await s.providers.endpoint_for(
            w.alice.id, "groq", connection_id=w.work_connection_id
        )
        assert groq.api_key == A_KEY
        keys = await s.accounts.list_api_keys(w.alice.id)
        assert [k.id for k in keys] == [w.api_key_id]
        principal = await s.accounts.verify_api_key(w.alice.api_key)
        assert principal.user_id == w.alice.id
        assert (await s.usage.summary(w.alice.id)).calls == 1

    await w.harness.run(check)


class TestCrossUserAccessIsNotFound:
    @pytest.mark.parametrize("operation", list(DENIED.values()), ids=list(DENIED))
    async def test_denied(self, world: World, operation: Operation) -> None:
        with pytest.raises(SwitchboardError) as caught:
            await operation(world)

        assert caught.value.kind == ErrorKind.NOT_FOUND
        assert A_KEY not in str(caught.value)
        await _assert_alice_untouched(world)


class TestCrossUserListingsShowNothing:
    @pytest.mark.parametrize("operation", list(EMPTY.values()), ids=list(EMPTY))
    async def test_empty(self, world: World, operation: Operation) -> None:
        result = await operation(world)

        assert list(result) == []
        await _assert_alice_untouched(world)


class TestCrossUserReplies:
    async def test_send_stores_nothing_in_a_conversation(self, world: World) -> None:
        with pytest.raises(SwitchboardError):
            await world.harness.ctx.replies.send(world.bob.id, world.conversation_id, "x", OPTIONS)

        page = await world.harness.run(
            lambda s: s.conversations.messages(world.alice.id, world.conversation_id)
        )
        assert page.total == 2
