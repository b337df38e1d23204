"""Apply migrations programmatically, from the CLI, the server's start-up and the tests.

Replicas started together (as `deploy/compose.yaml` starts them) all migrate at start-up,
so a migration runs under a lock that only one process holds at a time: PostgreSQL's
transaction-level advisory lock, or on SQLite an exclusive `flock` on a file beside the
database. The next holder finds the schema at head and has nothing to do.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent
# The advisory lock's key: any constant every switchboard process agrees on ("swmigrat").
ADVISORY_LOCK_KEY = 0x73776D6967726174
LOCK_FILE_SUFFIX = ".migrate.lock"


@dataclass(frozen=True, slots=True)
class MigrationStep:
    """A revision about to be applied: its place in this run and what it does."""

    number: int
    total: int
    revision: str
    description: str


MigrationProgress = Callable[[MigrationStep], None]
"""Told of each revision before it is applied (the CLI shows it as it goes)."""


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine, progress: MigrationProgress | None = None) -> int:
    """Bring the database at `engine` to the newest schema; how many revisions that took."""
    return await upgrade_to(engine, "head", progress)


async def downgrade_to_base(engine: AsyncEngine) -> None:
    """Remove every table the migrations created (used by the migration round-trip test)."""
    await downgrade_to(engine, "base")


async def upgrade_to(
    engine: AsyncEngine, revision: str, progress: MigrationProgress | None = None
) -> int:
    """Bring the database at `engine` up to `revision`, one revision at a time, telling
    `progress` of each; returns how many were applied (0: it was there already)."""
    applied: list[MigrationStep] = []

    def migrate(sync: Connection) -> None:
        config = _config(sync)
        # Read under the migration lock: another replica may have migrated meanwhile.
        for step in pending_steps(sync, config, revision):
            if progress is not None:
                progress(step)
            command.upgrade(config, step.revision)
            applied.append(step)

    async with engine.connect() as connection:
        await run_migrations(connection, migrate)
    return len(applied)


def pending_steps(sync: Connection, config: Config, revision: str) -> list[MigrationStep]:
    """The revisions between the database's current one and `revision`, oldest first."""
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(sync).get_current_heads()
    found = [
        rev for rev in script.iterate_revisions(revision, current or "base") if rev is not None
    ]
    found.reverse()
    return [
        MigrationStep(number, len(found), rev.revision, (rev.doc or "").strip())
        for number, rev in enumerate(found, start=1)
    ]


async def downgrade_to(engine: AsyncEngine, revision: str) -> None:
    """Take the database at `engine` down to `revision`."""
    async with engine.connect() as connection:
        await run_migrations(connection, lambda sync: command.downgrade(_config(sync), revision))


async def run_migrations(
    connection: AsyncConnection, migrate: Callable[[Connection], None]
) -> None:
    """Run `migrate` in one transaction on `connection`, with SQLite's foreign keys off.

    SQLite alters a table in batch mode by copying it and dropping the original, and
    with foreign keys on, dropping a table first deletes its rows, cascading to every
    row that references them (altering `users` would empty `api_keys`). The pragma is
    ignored inside a transaction, so it is set before and restored after, also on
    failure: the connection goes back to the application's pool.
    """
    sqlite = connection.dialect.name == "sqlite"
    async with migration_lock(connection):
        if sqlite:
            await _set_foreign_keys(connection, on=False)
        try:
            await connection.run_sync(migrate)
            await connection.commit()
        finally:
            await connection.rollback()
            if sqlite:
                await _set_foreign_keys(connection, on=True)


@asynccontextmanager
async def migration_lock(connection: AsyncConnection) -> AsyncIterator[None]:
    """Hold the migration lock of `connection`'s database for the block.

    On PostgreSQL the lock belongs to the transaction the block's migration runs in and
    ends with its commit or rollback. A database without a file (SQLite in memory) is
    one process's own, and needs none.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        )
        yield
        return
    database = connection.engine.url.database
    if dialect != "sqlite" or not database or database == ":memory:":
        yield
        return
    descriptor = os.open(database + LOCK_FILE_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # In a thread: waiting for another process must not stop this event loop.
        await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the file releases the lock


async def _set_foreign_keys(connection: AsyncConnection, *, on: bool) -> None:
    await connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    await connection.commit()
