"""The unit of work commits on success, rolls back on error, and runs after-commit work."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.db import session_factory, unit_of_work
from switchboard.models import User


class Refusal(Exception):
    commit_unit_of_work = True


async def count_users(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


class TestUnitOfWork:
    async def test_commits_and_then_runs_callbacks(self, engine: AsyncEngine) -> None:
        ran: list[int] = []
        async with unit_of_work(session_factory(engine)) as uow:
            uow.session.add(User(email="a@example.com"))

            async def after() -> None:
                ran.append(await count_users(engine))

            uow.after_commit(after)
        assert ran == [1]

    async def test_rolls_back_and_drops_callbacks(self, engine: AsyncEngine) -> None:
        ran: list[str] = []
        with pytest.raises(ValueError):
            async with unit_of_work(session_factory(engine)) as uow:
                uow.session.add(User(email="a@example.com"))

                async def after() -> None:
                    ran.append("x")

                uow.after_commit(after)
                raise ValueError("boom")
        assert ran == []
        assert await count_users(engine) == 0

    async def test_flagged_errors_commit_before_propagating(self, engine: AsyncEngine) -> None:
        with pytest.raises(Refusal):
            async with unit_of_work(session_factory(engine)) as uow:
                uow.session.add(User(email="a@example.com"))
                await uow.session.flush()
                raise Refusal()
        assert await count_users(engine) == 1


class TestLazySession:
    async def test_untouched_unit_of_work_opens_no_session(self, engine: AsyncEngine) -> None:
        ran: list[str] = []
        async with unit_of_work(session_factory(engine)) as uow:

            async def after() -> None:
                ran.append("x")

            uow.after_commit(after)
            assert uow.opened is False
        assert uow.opened is False
        assert ran == ["x"]
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

    async def test_idle_session_is_neither_committed_nor_holding_a_connection(
        self, engine: AsyncEngine
    ) -> None:
        statements: list[str] = []

        def record(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            async with unit_of_work(session_factory(engine)) as uow:
                assert uow.session is not None  # opened, never queried
            assert statements == []
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)

    async def test_commit_in_the_middle_releases_the_connection(self, engine: AsyncEngine) -> None:
        async with unit_of_work(session_factory(engine)) as uow:
            uow.session.add(User(email="a@example.com"))
            await uow.session.flush()
            assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
            await uow.commit()
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            assert await count_users(engine) == 1
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

    async def test_pending_objects_are_committed_without_a_query(self, engine: AsyncEngine) -> None:
        async with unit_of_work(session_factory(engine)) as uow:
            uow.session.add(User(email="a@example.com"))
        assert await count_users(engine) == 1
