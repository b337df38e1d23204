"""Saved models: import, list, get, delete with a fallback default, exactly one default."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import DBAPIError

from switchboard.core.catalog.saved import ModelSelection, SavedModelNotFound, SavedModelRead
from switchboard.core.container import Services
from switchboard.core.errors import Invalid
from tests.fixtures.app import Harness

pytestmark = pytest.mark.asyncio


def picks(*models: str) -> list[ModelSelection]:
    return [ModelSelection(model=m) for m in models]


async def defaults(harness: Harness, owner: str) -> list[str]:
    rows: list[SavedModelRead] = await harness.run(lambda s: s.saved_models.list_models(owner))
    return [r.model for r in rows if r.is_default]


class TestImport:
    async def test_first_import_sets_a_default(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        rows = await harness.run(
            lambda s: s.saved_models.import_models(
                user.id, "openai", picks("gpt-4o", "o3"), settings={"temperature": 0.2}
            )
        )
        assert [r.model for r in rows] == ["gpt-4o", "o3"]
        assert [r.is_default for r in rows] == [True, False]
        assert rows[0].name == "gpt-4o" and rows[0].settings == {"temperature": 0.2}
        more = await harness.run(
            lambda s: s.saved_models.import_models(user.id, "groq", picks("llama"))
        )
        assert more[0].is_default is False
        assert await defaults(harness, user.id) == ["gpt-4o"]

    async def test_nothing_to_import(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        with pytest.raises(Invalid):
            await harness.run(lambda s: s.saved_models.import_models(user.id, "openai", []))


class TestDefault:
    async def test_set_default_leaves_exactly_one(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        rows = await harness.run(
            lambda s: s.saved_models.import_models(user.id, "openai", picks("a", "b", "c"))
        )
        await harness.run(lambda s: s.saved_models.set_default(user.id, rows[2].id))
        assert await defaults(harness, user.id) == ["c"]

    async def test_concurrent_set_default_leaves_exactly_one(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        rows = await harness.run(
            lambda s: s.saved_models.import_models(user.id, "openai", picks("a", "b", "c", "d"))
        )

        async def make(model_id: str) -> None:
            async def work(services: Services) -> None:
                await services.saved_models.set_default(user.id, model_id)

            try:
                await harness.run(work)
            except DBAPIError as exc:  # SQLite may refuse a concurrent writer
                assert "locked" in str(exc).lower()

        await asyncio.gather(*(make(r.id) for r in rows))
        assert len(await defaults(harness, user.id)) == 1

    async def test_deleting_the_default_picks_the_oldest(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        rows = await harness.run(
            lambda s: s.saved_models.import_models(user.id, "openai", picks("a", "b", "c"))
        )
        await harness.run(lambda s: s.saved_models.set_default(user.id, rows[1].id))
        await harness.run(lambda s: s.saved_models.delete(user.id, rows[1].id))
        assert await defaults(harness, user.id) == ["a"]
        await harness.run(lambda s: s.saved_models.delete(user.id, rows[0].id))
        assert await defaults(harness, user.id) == ["c"]
        await harness.run(lambda s: s.saved_models.delete(user.id, rows[2].id))
        assert await defaults(harness, user.id) == []


class TestOwnership:
    async def test_another_users_model_is_not_found(self, harness: Harness) -> None:
        alice = await harness.user("a@example.com")
        bob = await harness.user("b@example.com")
        rows = await harness.run(
            lambda s: s.saved_models.import_models(alice.id, "openai", picks("a"))
        )
        for call in (
            lambda s: s.saved_models.get(bob.id, rows[0].id),
            lambda s: s.saved_models.delete(bob.id, rows[0].id),
            lambda s: s.saved_models.set_default(bob.id, rows[0].id),
            lambda s: s.saved_models.get(alice.id, "not-an-id"),
        ):
            with pytest.raises(SavedModelNotFound):
                await harness.run(call)
        assert await defaults(harness, alice.id) == ["a"]
