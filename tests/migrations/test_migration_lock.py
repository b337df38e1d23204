"""Issue 11, item 10: two processes never migrate at once.

Replicas started together each migrate at start-up. While one holds the migration lock
(PostgreSQL's advisory lock, SQLite's lock file) another waits, and then finds the
schema at head.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.db import Base, create_engine
from switchboard.migrations.runner import ADVISORY_LOCK_KEY, migration_lock, upgrade_to_head
from tests.fixtures.database import BASE_DATABASE_URL as TEST_DATABASE_URL
from tests.fixtures.waiting import eventually

REPLICAS = 4


@pytest.fixture
async def fresh_url(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of the suite's kind, dropped afterwards."""
    if not TEST_DATABASE_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"switchboard_lock_{uuid.uuid4().hex[:8]}"
    admin = create_engine(TEST_DATABASE_URL)
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(False)
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))


async def test_replicas_migrating_together_all_succeed(fresh_url: str) -> None:
    engines = [create_engine(fresh_url) for _ in range(REPLICAS)]
    try:
        await asyncio.gather(*(upgrade_to_head(engine) for engine in engines))
        assert await tables(engines[0]) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_migration_waits_while_another_process_holds_the_lock(fresh_url: str) -> None:
    holder, migrating = create_engine(fresh_url), create_engine(fresh_url)
    try:
        async with holder.connect() as connection, migration_lock(connection):
            upgrade = asyncio.create_task(upgrade_to_head(migrating))
            await _waiting_for_the_lock(holder, upgrade)
            assert not upgrade.done()
            assert await tables(holder) == set()
        await asyncio.wait_for(upgrade, 60)
        assert await tables(holder) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        await holder.dispose()
        await migrating.dispose()


async def _waiting_for_the_lock(engine: AsyncEngine, upgrade: asyncio.Task[int]) -> None:
    if engine.dialect.name != "postgresql":
        # The lock file's waiter is a thread blocked in flock(): give it every chance to
        # get past the lock if it could; it must not.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(upgrade), 0.5)
        return

    async def blocked() -> bool:
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND (classid::bigint << 32 | objid::bigint) = :key"
                ),
                {"key": ADVISORY_LOCK_KEY},
            )
        return bool(waiting)

    await eventually(blocked, what="the second migration waiting for the advisory lock")
