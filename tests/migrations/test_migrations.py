"""Migrations are the schema: they round-trip and match the ORM tables on both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.db import Base, create_engine
from switchboard.migrations.runner import downgrade_to_base, upgrade_to_head
from tests.fixtures.database import BASE_DATABASE_URL as TEST_DATABASE_URL


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
