"""Alembic environment: runs on a connection handed in by the runner, or on its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from switchboard.kit.db import create_engine
from switchboard.migrations.runner import run_migrations
from switchboard.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only alter tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await run_migrations(connection, _run)
    await engine.dispose()


def _standalone_url() -> str:
    from switchboard.config import Settings

    return Settings().resolved_database_url


handed_in = context.config.attributes.get("connection")
if handed_in is not None:
    _run(handed_in)
else:
    asyncio.run(_run_standalone(_standalone_url()))
