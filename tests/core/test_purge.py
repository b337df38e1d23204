"""Deleting an account: every domain's purger in order, the user row last. Everything the
user owns goes (every row reached from their user row by a cascade, their stored files,
what the process cached for them) and nothing of anyone else's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import ColumnElement, Table, false, or_, select

from switchboard.core.accounts.errors import UserNotFound
from switchboard.core.container import Services
from switchboard.core.conversations.schemas import ConversationCreate
from switchboard.core.llm import ModelInfo
from switchboard.core.purge import AccountPurge
from switchboard.core.usage.recorder import UsageEntry
from switchboard.core.usage.repository import UsageRepository
from switchboard.kit.clock import utcnow
from switchboard.kit.db import Base
from switchboard.models import (
    ComfyGeneration,
    ComfyOutput,
    ComfySession,
    ComfyWorkflow,
    Identity,
    Job,
    JobSchedule,
    QueryLog,
    Result,
    SavedModel,
    Task,
    UsageQuota,
)
from tests.fixtures.app import Harness, User
from tests.fixtures.upstreams.openai_fake import tiny_png

UNKNOWN_ID = "5f0c4e3a-8a1e-4b47-9a55-3c2d1e0f9b21"
KEY = "gsk-purge-0123456789abcdefghijklmnop"
OwnedRows = dict[str, set[tuple[Any, ...]]]


class TestRegistry:
    async def test_purgers_run_in_order_then_the_account_goes(self) -> None:
        calls: list[tuple[str, str]] = []
        purge: AccountPurge[Services] = AccountPurge()
        purge.register("first", _recorder("first", calls))
        purge.register("second", _recorder("second", calls))

        await purge.run(_fake_services(calls), "u1")

        assert calls == [("first", "u1"), ("second", "u1"), ("accounts", "u1")]
        assert purge.names == ("first", "second")

    async def test_a_failing_purger_keeps_the_account(self) -> None:
        calls: list[tuple[str, str]] = []
        purge: AccountPurge[Services] = AccountPurge()

        async def failing(services: Services, user_id: str) -> None:
            raise UserNotFound()

        purge.register("failing", failing)
        with pytest.raises(UserNotFound):
            await purge.run(_fake_services(calls), "u1")
        assert calls == []

    def test_a_name_is_registered_once(self) -> None:
        purge: AccountPurge[Services] = AccountPurge()
        purge.register("media", _recorder("media", []))
        with pytest.raises(ValueError, match="media"):
            purge.register("media", _recorder("media", []))


class TestDeleteAccount:
    async def test_everything_of_the_user_goes_and_nothing_else(self, harness: Harness) -> None:
        alice, bob = await _seeded(harness, "alice@example.com"), await _seeded(harness, "b@x.io")
        before = {user.id: await owned_rows(harness, user.id) for user in (alice, bob)}
        for user in (alice, bob):
            unseeded = sorted(table for table, rows in before[user.id].items() if not rows)
            assert unseeded == [], "seed every table a user owns, so that its purge is tested"

        await harness.run(lambda s: s.delete_account(alice.id))

        assert {t: r for t, r in (await owned_rows(harness, alice.id)).items() if r} == {}
        assert await owned_rows(harness, bob.id) == before[bob.id]
        root = harness.settings.resolved_media_dir
        assert files_of(root, alice.id) == []
        assert len(files_of(root, bob.id)) == 1

    async def test_what_the_process_cached_for_the_user_goes(self, harness: Harness) -> None:
        alice, bob = await _seeded(harness, "alice@example.com"), await _seeded(harness, "b@x.io")
        catalogs = harness.ctx.catalogs
        for user in (alice, bob):
            catalogs.put(user.id, "groq", [ModelInfo(id="m", provider="groq")])
        await harness.run(lambda s: s.providers.endpoint_for(alice.id, "groq"))
        assert harness.ctx.providers.endpoints.get((alice.id, "groq", None)) is not None

        await harness.run(lambda s: s.delete_account(alice.id))

        assert catalogs.get(alice.id, "groq") is None
        assert catalogs.get(bob.id, "groq") is not None
        assert harness.ctx.providers.endpoints.get((alice.id, "groq", None)) is None

    async def test_a_rolled_back_deletion_keeps_everything(self, harness: Harness) -> None:
        alice = await _seeded(harness, "alice@example.com")
        before = await owned_rows(harness, alice.id)

        with pytest.raises(_Abort):
            async with harness.ctx.unit_of_work() as uow:
                await harness.ctx.services(uow).delete_account(alice.id)
                raise _Abort

        assert await owned_rows(harness, alice.id) == before
        assert len(files_of(harness.settings.resolved_media_dir, alice.id)) == 1

    async def test_an_unknown_user_is_not_found(self, harness: Harness) -> None:
        with pytest.raises(UserNotFound):
            await harness.run(lambda s: s.delete_account(UNKNOWN_ID))


class _Abort(Exception):
    """Raised inside a unit of work to roll it back."""


def _recorder(
    name: str, calls: list[tuple[str, str]]
) -> Callable[[Services, str], Awaitable[None]]:
    async def purger(services: Services, user_id: str) -> None:
        calls.append((name, user_id))

    return purger


def _fake_services(calls: list[tuple[str, str]]) -> Services:
    async def delete_user(user_id: str) -> None:
        calls.append(("accounts", user_id))

    return cast(Services, SimpleNamespace(accounts=SimpleNamespace(delete_user=delete_user)))


async def _seeded(harness: Harness, email: str) -> User:
    """A user owning at least one row of every table a user can own, and a stored file."""
    user = await harness.user(email)  # the user, an API key, a session, a refresh token

    async def work(services: Services) -> None:
        conversation = await services.conversations.create(
            user.id, ConversationCreate(title="plans", provider="echo", model="echo")
        )
        await services.conversations.append(user.id, conversation.id, role="user", content="hi")
        await services.providers.save_connection(user.id, "groq", api_key=KEY)
        media = await services.media.save(user.id, tiny_png(), "image/png")
        await _seed_comfy(services, user.id, media.id)
        await _seed_task(services, user.id)
        await UsageRepository(services.uow.session).insert_many(
            [UsageEntry(user.id, "test", "groq", "llama", 10, 5, 0.1)]
        )
        # Finished or disabled: neither the runner nor the sweeper will pick these up.
        services.uow.session.add_all(
            [
                Job(user_id=user.id, type="noop", status="completed"),
                JobSchedule(
                    user_id=user.id,
                    type="noop",
                    cron="0 * * * *",
                    enabled=False,
                    next_run_at=utcnow(),
                ),
                QueryLog(user_id=user.id, source="test", user_input="question"),
                UsageQuota(user_id=user.id, period="2026-01", used=1),
                SavedModel(user_id=user.id, name="mine", provider="groq", model="llama"),
                Identity(user_id=user.id, issuer="https://issuer.test", subject=user.id),
            ]
        )

    await harness.run(work)
    return user


async def _seed_task(services: Services, user_id: str) -> None:
    """A finished Spoon Feeder task (its id is its job's) and its text result."""
    job = Job(user_id=user_id, type="noop", status="completed")
    services.uow.session.add(job)
    await services.uow.session.flush()
    services.uow.session.add(
        Task(id=job.id, user_id=user_id, name="t", type="text", provider="echo", prompt="p")
    )
    await services.uow.session.flush()
    services.uow.session.add(Result(user_id=user_id, task_id=job.id, type="text", content="x"))


async def _seed_comfy(services: Services, user_id: str, media_id: str) -> None:
    """A ComfyUI workflow, session, generation and output (on the user's stored file)."""
    workflow = ComfyWorkflow(user_id=user_id, name="txt2img", workflow_json={})
    session = ComfySession(user_id=user_id, title="ideas")
    services.uow.session.add_all([workflow, session])
    await services.uow.session.flush()
    generation = ComfyGeneration(
        user_id=user_id,
        session_id=session.id,
        workflow_id=workflow.id,
        prompt_id="p",
        client_id="c",
        status="complete",
    )
    services.uow.session.add(generation)
    await services.uow.session.flush()
    services.uow.session.add(
        ComfyOutput(
            user_id=user_id,
            generation_id=generation.id,
            media_id=media_id,
            position=0,
            filename="ComfyUI_00001_.png",
        )
    )


async def owned_rows(harness: Harness, user_id: str) -> OwnedRows:
    """The primary keys of every row the user owns, by table: their user row, rows with
    their `user_id`, and rows that cascade from any of those (refresh tokens...)."""
    found: dict[str, list[Any]] = {}
    async with harness.ctx.unit_of_work() as uow:
        for table in Base.metadata.sorted_tables:  # parents before children
            where = _owned_by(table, user_id, found)
            if where is not None:
                found[table.name] = list(
                    (await uow.session.execute(select(table).where(where))).all()
                )
    tables = Base.metadata.tables
    return {
        name: {tuple(row._mapping[c] for c in tables[name].primary_key.columns) for row in rows}
        for name, rows in found.items()
    }


def _owned_by(
    table: Table, user_id: str, found: dict[str, list[Any]]
) -> ColumnElement[bool] | None:
    if table.name == "users":
        return table.c.id == user_id
    conditions: list[ColumnElement[bool]] = []
    if "user_id" in table.c:
        conditions.append(table.c.user_id == user_id)
    for fk in table.foreign_keys:
        parent = fk.column.table.name
        if fk.ondelete == "CASCADE" and parent in found:
            values = [row._mapping[fk.column] for row in found[parent]]
            conditions.append(fk.parent.in_(values) if values else false())
    return or_(*conditions) if conditions else None


def files_of(root: Path, user_id: str) -> list[Path]:
    folder = root / user_id
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
