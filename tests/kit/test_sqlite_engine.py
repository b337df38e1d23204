"""The SQLite engine: a statement interrupted by a cancellation leaves no lock behind."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.db import create_engine
from tests.fixtures.waiting import until_set, yield_to_loop


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE counters (id INTEGER, value INTEGER)"))
        await connection.execute(text("INSERT INTO counters VALUES (1, 0)"))
    yield engine
    await engine.dispose()


def write_lock_is_free(path: Path) -> bool:
    # A plain connection that does not wait: BEGIN IMMEDIATE fails at once while any
    # other connection holds the write lock.
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "transaction"])
async def test_a_cancelled_update_returning_releases_the_write_lock(
    sqlite_engine: AsyncEngine, tmp_path: Path, autocommit: bool
) -> None:
    # The holder keeps the write lock, so the update below waits inside SQLite when it
    # is cancelled: the moment a job's lease renewal is interrupted by its job ending.
    holder = await sqlite_engine.connect()
    await holder.exec_driver_sql("BEGIN IMMEDIATE")
    started = asyncio.Event()

    def on_execute(*_: Any) -> None:
        started.set()

    event.listen(sqlite_engine.sync_engine, "before_cursor_execute", on_execute)

    async def renew() -> None:
        async with sqlite_engine.connect() as connection:
            if autocommit:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("UPDATE counters SET value = value + 1 RETURNING value"))

    task = asyncio.create_task(renew())
    await until_set(started)
    await yield_to_loop()  # up to the wait for the driver's thread
    task.cancel()
    await holder.rollback()
    await holder.close()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert write_lock_is_free(tmp_path / "locks.db")
