"""Apply migrations programmatically, from the CLI, the server's start-up and the tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the database at `engine` to the newest schema."""
    await upgrade_to(engine, "head")


async def downgrade_to_base(engine: AsyncEngine) -> None:
    """Remove every table the migrations created (used by the migration round-trip test)."""
    await downgrade_to(engine, "base")


async def upgrade_to(engine: AsyncEngine, revision: str) -> None:
    """Bring the database at `engine` up to `revision` (the data-migration tests)."""
    async with engine.connect() as connection:
        await run_migrations(connection, lambda sync: command.upgrade(_config(sync), revision))


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
    if sqlite:
        await _set_foreign_keys(connection, on=False)
    try:
        await connection.run_sync(migrate)
        await connection.commit()
    finally:
        await connection.rollback()
        if sqlite:
            await _set_foreign_keys(connection, on=True)


async def _set_foreign_keys(connection: AsyncConnection, *, on: bool) -> None:
    await connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    await connection.commit()
