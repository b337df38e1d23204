"""ConversationService: CRUD, paging, sequence numbers and owner scoping."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from switchboard.core.container import Services
from switchboard.core.conversations import service as conversation_service
from switchboard.core.conversations.errors import ConversationNotFound
from switchboard.core.conversations.schemas import (
    ConversationCreate,
    ConversationRead,
    ConversationUpdate,
    MessageStatus,
)
from switchboard.core.errors import ErrorKind
from switchboard.kit.clock import utcnow
from switchboard.kit.pagination import encode_cursor
from tests.fixtures.app import Harness

NOT_IDS = ["", "nope", "1", "../etc/passwd", "00000000-0000-0000-0000-00000000000g", "' OR 1=1 --"]


async def _create(harness: Harness, owner: str, **fields: Any) -> ConversationRead:
    async def work(services: Services) -> ConversationRead:
        return await services.conversations.create(owner, ConversationCreate(**fields))

    result: ConversationRead = await harness.run(work)
    return result


async def _append(harness: Harness, owner: str, conversation_id: str, count: int) -> None:
    async def work(services: Services) -> None:
        for i in range(count):
            role = "user" if i % 2 == 0 else "assistant"
            await services.conversations.append(owner, conversation_id, role=role, content=f"m{i}")

    await harness.run(work)


async def _get(services: Services, *, owner: str, conversation_id: str) -> ConversationRead:
    return await services.conversations.get(owner, conversation_id)


async def _messages(
    services: Services, *, owner: str, conversation_id: str, cursor: str | None
) -> Any:
    return await services.conversations.messages(owner, conversation_id, limit=3, cursor=cursor)


@pytest.fixture
async def owner(harness: Harness) -> str:
    return (await harness.user("owner@example.com")).id


@pytest.fixture
async def other(harness: Harness) -> str:
    return (await harness.user("other@example.com")).id


class TestCreate:
    async def test_defaults(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner)

        assert uuid.UUID(created.id)
        assert created.user_id == owner
        assert created.title == "New conversation"
        assert created.settings == {} and created.attributes == {}
        assert created.message_count == 0

    async def test_keeps_given_fields(self, harness: Harness, owner: str) -> None:
        created = await _create(
            harness,
            owner,
            title="Trip",
            provider="echo",
            model="echo",
            system_prompt="Be brief.",
            settings={"temperature": 0.2},
            source="pocketllm",
            attributes={"pinned": True},
        )

        fetched = await harness.run(lambda s: s.conversations.get(owner, created.id))
        assert fetched.title == "Trip"
        assert (fetched.provider, fetched.model) == ("echo", "echo")
        assert fetched.system_prompt == "Be brief."
        assert fetched.settings == {"temperature": 0.2}
        assert fetched.source == "pocketllm"
        assert fetched.attributes == {"pinned": True}

    async def test_title_too_long_is_invalid(self) -> None:
        with pytest.raises(ValueError):
            ConversationCreate(title="x" * 501)


class TestGet:
    async def test_own_conversation(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner, title="Mine")

        fetched = await harness.run(lambda s: s.conversations.get(owner, created.id))

        assert fetched.id == created.id and fetched.title == "Mine"

    async def test_other_users_conversation_is_not_found(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        created = await _create(harness, owner)

        with pytest.raises(ConversationNotFound) as caught:
            await harness.run(lambda s: s.conversations.get(other, created.id))

        assert caught.value.kind == ErrorKind.NOT_FOUND
        assert caught.value.code == "conversation_not_found"

    async def test_unknown_uuid_is_not_found(self, harness: Harness, owner: str) -> None:
        with pytest.raises(ConversationNotFound):
            await harness.run(lambda s: s.conversations.get(owner, str(uuid.uuid4())))

    @pytest.mark.parametrize("bad_id", NOT_IDS)
    async def test_non_uuid_is_not_found(self, harness: Harness, owner: str, bad_id: str) -> None:
        await _create(harness, owner)

        with pytest.raises(ConversationNotFound):
            await harness.run(lambda s: s.conversations.get(owner, bad_id))

    async def test_other_spellings_of_the_same_uuid_find_it(
        self, harness: Harness, owner: str
    ) -> None:
        created = await _create(harness, owner)
        spellings = [created.id.upper(), "{" + created.id + "}", "urn:uuid:" + created.id]

        for spelling in spellings:
            fetched = await harness.run(partial(_get, owner=owner, conversation_id=spelling))
            assert fetched.id == created.id

    async def test_other_spellings_do_not_cross_users(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        created = await _create(harness, owner)

        with pytest.raises(ConversationNotFound):
            await harness.run(lambda s: s.conversations.get(other, created.id.upper()))


class TestList:
    async def test_newest_activity_first(
        self, harness: Harness, owner: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first = await _create(harness, owner, title="first")
        second = await _create(harness, owner, title="second")
        # The activity comes a minute later, whatever the resolution of the real clock.
        later = utcnow() + timedelta(minutes=1)
        monkeypatch.setattr(conversation_service, "utcnow", lambda: later)
        await _append(harness, owner, first.id, 1)  # activity moves it to the top

        page = await harness.run(lambda s: s.conversations.list_conversations(owner))

        assert [c.id for c in page.items] == [first.id, second.id]
        assert page.total == 2

    async def test_limit_and_offset(self, harness: Harness, owner: str) -> None:
        for i in range(5):
            await _create(harness, owner, title=f"c{i}")
        everything = await harness.run(lambda s: s.conversations.list_conversations(owner))

        first = await harness.run(
            lambda s: s.conversations.list_conversations(owner, limit=2, offset=0)
        )
        second = await harness.run(
            lambda s: s.conversations.list_conversations(owner, limit=2, offset=2)
        )
        third = await harness.run(
            lambda s: s.conversations.list_conversations(owner, limit=2, offset=4)
        )

        ids = [c.id for c in first.items + second.items + third.items]
        assert ids == [c.id for c in everything.items]
        assert len(set(ids)) == 5
        assert (first.total, second.total, third.total) == (5, 5, 5)
        assert len(third.items) == 1

    async def test_offset_past_the_end_is_empty(self, harness: Harness, owner: str) -> None:
        await _create(harness, owner)

        page = await harness.run(lambda s: s.conversations.list_conversations(owner, offset=10))

        assert page.items == [] and page.total == 1

    async def test_out_of_range_limit_and_offset_are_clamped(
        self, harness: Harness, owner: str
    ) -> None:
        for _ in range(3):
            await _create(harness, owner)

        zero = await harness.run(
            lambda s: s.conversations.list_conversations(owner, limit=0, offset=-5)
        )
        huge = await harness.run(lambda s: s.conversations.list_conversations(owner, limit=10_000))

        assert len(zero.items) == 1
        assert len(huge.items) == 3

    async def test_source_filter(self, harness: Harness, owner: str) -> None:
        mine = await _create(harness, owner, source="pocketpaw")
        await _create(harness, owner, source="spoonfeeder")

        page = await harness.run(
            lambda s: s.conversations.list_conversations(owner, source="pocketpaw")
        )

        assert [c.id for c in page.items] == [mine.id]
        assert page.total == 1

    async def test_only_the_owners(self, harness: Harness, owner: str, other: str) -> None:
        await _create(harness, owner)
        theirs = await _create(harness, other)

        page = await harness.run(lambda s: s.conversations.list_conversations(other))

        assert [c.id for c in page.items] == [theirs.id]
        assert page.total == 1


class TestUpdate:
    async def test_changes_only_given_fields(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner, title="old", model="echo", settings={"a": 1})

        updated = await harness.run(
            lambda s: s.conversations.update(owner, created.id, ConversationUpdate(title="new"))
        )

        assert updated.title == "new"
        assert updated.model == "echo" and updated.settings == {"a": 1}
        assert updated.updated_at >= created.updated_at
        fetched = await harness.run(lambda s: s.conversations.get(owner, created.id))
        assert fetched.title == "new"

    async def test_other_users_conversation_is_not_found(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        created = await _create(harness, owner, title="mine")

        with pytest.raises(ConversationNotFound):
            await harness.run(
                lambda s: s.conversations.update(other, created.id, ConversationUpdate(title="x"))
            )

        fetched = await harness.run(lambda s: s.conversations.get(owner, created.id))
        assert fetched.title == "mine"

    async def test_non_uuid_is_not_found(self, harness: Harness, owner: str) -> None:
        with pytest.raises(ConversationNotFound):
            await harness.run(
                lambda s: s.conversations.update(owner, "abc", ConversationUpdate(title="x"))
            )


class TestDelete:
    async def test_deletes_it_and_its_messages(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 3)

        await harness.run(lambda s: s.conversations.delete(owner, created.id))

        with pytest.raises(ConversationNotFound):
            await harness.run(lambda s: s.conversations.get(owner, created.id))
        history = await harness.run(lambda s: s.conversations.history(owner, created.id, 10))
        assert history == []

    async def test_other_users_conversation_is_not_found_and_kept(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 2)

        with pytest.raises(ConversationNotFound):
            await harness.run(lambda s: s.conversations.delete(other, created.id))

        page = await harness.run(lambda s: s.conversations.messages(owner, created.id))
        assert page.total == 2

    async def test_non_uuid_is_not_found(self, harness: Harness, owner: str) -> None:
        with pytest.raises(ConversationNotFound):
            await harness.run(lambda s: s.conversations.delete(owner, "not-a-uuid"))


class TestAppend:
    async def test_sequence_numbers_increase_from_one(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 5)

        page = await harness.run(lambda s: s.conversations.messages(owner, created.id))

        assert [m.seq for m in page.items] == [1, 2, 3, 4, 5]
        assert [m.content for m in page.items] == ["m0", "m1", "m2", "m3", "m4"]
        fetched = await harness.run(lambda s: s.conversations.get(owner, created.id))
        assert fetched.message_count == 5

    async def test_sequences_are_per_conversation(self, harness: Harness, owner: str) -> None:
        one = await _create(harness, owner)
        two = await _create(harness, owner)
        await _append(harness, owner, one.id, 3)
        await _append(harness, owner, two.id, 2)

        page = await harness.run(lambda s: s.conversations.messages(owner, two.id))

        assert [m.seq for m in page.items] == [1, 2]

    async def test_concurrent_appends_get_unique_sequence_numbers(
        self, harness: Harness, owner: str
    ) -> None:
        created = await _create(harness, owner)

        async def one(i: int) -> None:
            await harness.run(
                lambda s: s.conversations.append(owner, created.id, role="user", content=str(i))
            )

        await asyncio.gather(*(one(i) for i in range(8)))

        page = await harness.run(lambda s: s.conversations.messages(owner, created.id))
        assert sorted(m.seq for m in page.items) == list(range(1, 9))
        assert sorted(m.content for m in page.items) == sorted(str(i) for i in range(8))

    async def test_status_and_completion_time(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner)

        complete = await harness.run(
            lambda s: s.conversations.append(owner, created.id, role="user", content="hi")
        )
        streaming = await harness.run(
            lambda s: s.conversations.append(
                owner,
                created.id,
                role="assistant",
                content="",
                status=MessageStatus.STREAMING,
                provider="echo",
                model="echo",
            )
        )

        assert complete.status == MessageStatus.COMPLETE and complete.completed_at is not None
        assert streaming.status == MessageStatus.STREAMING and streaming.completed_at is None
        assert (streaming.provider, streaming.model) == ("echo", "echo")

    async def test_other_users_conversation_is_not_found(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        created = await _create(harness, owner)

        with pytest.raises(ConversationNotFound):
            await harness.run(
                lambda s: s.conversations.append(other, created.id, role="user", content="x")
            )

        page = await harness.run(lambda s: s.conversations.messages(owner, created.id))
        assert page.total == 0


class TestMessages:
    async def test_offset_paging(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 5)

        page = await harness.run(
            lambda s: s.conversations.messages(owner, created.id, limit=2, offset=2)
        )

        assert [m.seq for m in page.items] == [3, 4]
        assert page.total == 5

    async def test_cursor_walks_every_message_once(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 7)

        seen: list[int] = []
        cursor: str | None = None
        for _ in range(10):
            page = await harness.run(
                partial(_messages, owner=owner, conversation_id=created.id, cursor=cursor)
            )
            seen += [m.seq for m in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break

        assert seen == [1, 2, 3, 4, 5, 6, 7]

    async def test_cursor_of_last_full_page_gives_an_empty_page(
        self, harness: Harness, owner: str
    ) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 2)

        page = await harness.run(
            lambda s: s.conversations.messages(owner, created.id, cursor=encode_cursor(2))
        )

        assert page.items == [] and page.next_cursor is None

    async def test_short_page_has_no_cursor(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 2)

        page = await harness.run(lambda s: s.conversations.messages(owner, created.id, limit=5))

        assert len(page.items) == 2 and page.next_cursor is None

    async def test_foreign_cursor_starts_from_the_beginning(
        self, harness: Harness, owner: str
    ) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 2)

        page = await harness.run(
            lambda s: s.conversations.messages(owner, created.id, cursor="!!not-a-cursor!!")
        )

        assert [m.seq for m in page.items] == [1, 2]

    async def test_other_users_conversation_is_not_found(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 1)

        with pytest.raises(ConversationNotFound):
            await harness.run(lambda s: s.conversations.messages(other, created.id))


class TestHistory:
    async def test_newest_messages_oldest_first(self, harness: Harness, owner: str) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 6)

        rows = await harness.run(lambda s: s.conversations.history(owner, created.id, 3))

        assert [r.seq for r in rows] == [4, 5, 6]

    async def test_other_users_history_is_empty(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        created = await _create(harness, owner)
        await _append(harness, owner, created.id, 2)

        rows = await harness.run(lambda s: s.conversations.history(other, created.id, 10))

        assert rows == []


class TestRequire:
    async def test_other_users_conversation_is_not_found(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        created = await _create(harness, owner)

        with pytest.raises(ConversationNotFound):
            await harness.run(lambda s: s.conversations.require(other, created.id))
