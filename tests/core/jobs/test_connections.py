"""The runner's statements and the pooled connections they use.

Single statements run in autocommit; the connection must come back to the pool with
its transactions intact for the next unit of work. And the engine pings a pooled
connection only when it sat idle (`kit.db.ping_when_idle`), not at every checkout: these
tests kill the pooled connection server-side (PostgreSQL only) and check both paths: a
ping replaces it, and without a ping the one statement that hits it fails as a
disconnect and the next one runs on a fresh connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from switchboard.core.jobs.leases import JobLeases
from switchboard.kit.db import UnitOfWork, ping_when_idle, session_factory, unit_of_work
from tests.core.jobs.conftest import JobsEnv


@pytest.fixture
async def single_pool(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds one connection, so every unit of work reuses it."""
    engine = create_async_engine(migrated_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
async def one_connection(single_pool: AsyncEngine) -> AsyncEngine:
    if single_pool.dialect.name != "postgresql":
        pytest.skip("kills a server-side connection: PostgreSQL only")
    return single_pool


def _leases(engine: AsyncEngine) -> JobLeases:
    sessions = session_factory(engine)

    def units() -> AbstractAsyncContextManager[UnitOfWork]:
        return unit_of_work(sessions)

    return JobLeases(units)


async def _kill_pooled_connection(engine: AsyncEngine, admin: AsyncEngine) -> None:
    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
    async with admin.connect() as connection:
        assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def _claim_one(jobs_env: JobsEnv, leases: JobLeases, owner: str) -> bool:
    user = await jobs_env.user()
    job = await jobs_env.create(user, "test.echo", {"value": "x"})
    return job.id in await leases.claim_many([job.id], owner, lease_seconds=30)


class Boom(Exception):
    pass


async def test_autocommit_does_not_outlive_the_statement(
    single_pool: AsyncEngine, jobs_env: JobsEnv
) -> None:
    leases = _leases(single_pool)
    assert await _claim_one(jobs_env, leases, "w/1")
    user = await jobs_env.user()
    job = await jobs_env.create(user, "test.echo", {"value": "x"})
    sessions = session_factory(single_pool)
    # The same pooled connection, now in a unit of work that fails after a write: the
    # write must be rolled back with it.
    with pytest.raises(Boom):
        async with unit_of_work(sessions) as uow:
            await uow.session.execute(
                text("UPDATE jobs SET error = 'written' WHERE id = :id"), {"id": job.id}
            )
            raise Boom
    assert (await jobs_env.row(job.id)).error is None


async def test_an_idle_connection_is_pinged_and_replaced(
    one_connection: AsyncEngine, engine: AsyncEngine, jobs_env: JobsEnv
) -> None:
    ping_when_idle(one_connection, 0.0)  # every pooled connection counts as idle
    await _kill_pooled_connection(one_connection, engine)
    assert await _claim_one(jobs_env, _leases(one_connection), "w/1")


async def test_without_a_ping_one_statement_fails_and_the_pool_recovers(
    one_connection: AsyncEngine, engine: AsyncEngine, jobs_env: JobsEnv
) -> None:
    ping_when_idle(one_connection, 3600.0)  # nothing is ever pinged
    leases = _leases(one_connection)
    await _kill_pooled_connection(one_connection, engine)
    with pytest.raises(DBAPIError) as raised:
        await _claim_one(jobs_env, leases, "w/1")
    assert raised.value.connection_invalidated
    assert await _claim_one(jobs_env, leases, "w/2")
