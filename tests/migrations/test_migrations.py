"""Migrations are the schema: they round-trip and match the ORM tables on both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import String, column, inspect, select, table, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.clock import utcnow
from switchboard.kit.db import Base, UTCDateTime, create_engine
from switchboard.migrations.runner import (
    downgrade_to,
    downgrade_to_base,
    upgrade_to,
    upgrade_to_head,
)
from tests.fixtures.database import BASE_DATABASE_URL as TEST_DATABASE_URL
from tests.migrations.rows import user_row, users_table


@pytest.fixture
async def scratch_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database of the suite's kind, dropped afterwards."""
    if not TEST_DATABASE_URL:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}")
        yield engine
        await engine.dispose()
        return
    name = f"switchboard_scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(TEST_DATABASE_URL)
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(TEST_DATABASE_URL).set(database=name).render_as_string(False))
    yield engine
    await engine.dispose()
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE "{name}"'))
    await admin.dispose()


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


class TestMigrations:
    async def test_upgrade_downgrade_upgrade(self, scratch_engine: AsyncEngine) -> None:
        await upgrade_to_head(scratch_engine)
        async with scratch_engine.connect() as connection:
            assert await connection.run_sync(table_names) == set(Base.metadata.tables)
        await downgrade_to_base(scratch_engine)
        async with scratch_engine.connect() as connection:
            assert await connection.run_sync(table_names) == set()
        await upgrade_to_head(scratch_engine)

    async def test_migrated_schema_matches_the_models(self, scratch_engine: AsyncEngine) -> None:
        await upgrade_to_head(scratch_engine)
        async with scratch_engine.connect() as connection:
            assert await connection.run_sync(schema_differences) == []


BEFORE_IDENTITIES = "c1337a1312ad"
IDENTITIES = "2fdde15e1daf"

# users as they were before the identities migration (only the NOT NULL columns and the
# ones the migration moves).
_old_users = users_table(column("google_sub", String))


def _old_user(user_id: str, email: str, google_sub: str | None) -> dict[str, object]:
    return user_row(user_id, email, google_sub=google_sub)


def user_columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("users")}


class TestIdentitiesMigration:
    async def test_google_subjects_move_to_identities_and_back(
        self, scratch_engine: AsyncEngine
    ) -> None:
        linked, unlinked = str(uuid.uuid4()), str(uuid.uuid4())
        await upgrade_to(scratch_engine, BEFORE_IDENTITIES)
        async with scratch_engine.begin() as connection:
            await connection.execute(
                _old_users.insert(),
                [
                    _old_user(linked, "ada@gmail.com", "1234567890"),
                    _old_user(unlinked, "bob@x.io", None),
                ],
            )
            await connection.execute(
                text(
                    "INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes,"
                    " created_at) VALUES ('k', :user_id, 'n', 'p', 'h', '[]', :now)"
                ),
                {"user_id": linked, "now": utcnow()},
            )

        await upgrade_to(scratch_engine, IDENTITIES)
        async with scratch_engine.connect() as connection:
            assert "google_sub" not in await connection.run_sync(user_columns)
            rows = await connection.execute(
                text("SELECT issuer, subject, user_id, email FROM identities")
            )
            assert [tuple(row) for row in rows] == [
                ("https://accounts.google.com", "1234567890", linked, "ada@gmail.com")
            ]
            # SQLite rebuilt `users`: rows referencing it must survive (no cascade).
            assert await connection.scalar(text("SELECT count(*) FROM api_keys")) == 1

        await downgrade_to(scratch_engine, BEFORE_IDENTITIES)
        async with scratch_engine.connect() as connection:
            assert "identities" not in await connection.run_sync(table_names)
            restored = await connection.execute(
                select(_old_users.c.id, _old_users.c.google_sub).order_by(_old_users.c.email)
            )
            assert [tuple(row) for row in restored] == [(linked, "1234567890"), (unlinked, None)]
            assert await connection.scalar(text("SELECT count(*) FROM api_keys")) == 1

    async def test_one_link_per_subject_deleted_with_its_user(
        self, scratch_engine: AsyncEngine
    ) -> None:
        user_id = str(uuid.uuid4())
        await upgrade_to_head(scratch_engine)
        async with scratch_engine.begin() as connection:
            await connection.execute(_old_users.insert(), [_new_user(user_id)])
            await connection.execute(_identities.insert(), [_link(user_id)])
        with pytest.raises(IntegrityError):
            async with scratch_engine.begin() as connection:
                await connection.execute(_identities.insert(), [_link(user_id)])
        async with scratch_engine.begin() as connection:
            await connection.execute(text("DELETE FROM users"))
            assert (await connection.execute(text("SELECT count(*) FROM identities"))).scalar() == 0


_identities = table(
    "identities",
    column("id", String),
    column("issuer", String),
    column("subject", String),
    column("user_id", String),
    column("created_at", UTCDateTime()),
)


def _new_user(user_id: str) -> dict[str, object]:
    row = _old_user(user_id, "a@x.io", None)
    del row["google_sub"]
    return row


def _link(user_id: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "issuer": "https://issuer.example/",
        "subject": "sub",
        "user_id": user_id,
        "created_at": utcnow(),
    }
