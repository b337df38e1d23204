"""The read-only database view: the statement check, the read-only layer beneath it
(which holds even for a statement the check would refuse), the deadline and the gate."""

from __future__ import annotations

import pytest

from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services
from switchboard.core.errors import Invalid, PermissionDenied
from switchboard.core.ops.sql import SqlView, check_select, secret_tables
from switchboard.core.ops.sql_repository import QueryFailed, SqlRepository
from tests.fixtures.app import Harness

ADMIN = Principal(user_id="admin", email="admin@example.com", is_admin=True)
OWNER = Principal(user_id="owner", email="owner@localhost", is_owner=True)
READABLE = frozenset({"conversations", "messages"})


class TestCheck:
    def test_a_limit_is_added_unless_there_is_one(self) -> None:
        assert check_select("SELECT id FROM conversations", "postgres", READABLE, 10) == (
            "SELECT id FROM conversations LIMIT 11"
        )
        assert check_select("SELECT id FROM messages LIMIT 3;", "sqlite", READABLE, 10) == (
            "SELECT id FROM messages LIMIT 3"
        )

    @pytest.mark.parametrize(
        "sql",
        [
            "WITH d AS (DELETE FROM messages RETURNING id) SELECT * FROM d",
            "SELECT lo_import('/etc/passwd')",
            "SELECT * FROM tasks_unknown",
            "EXPLAIN SELECT 1",
        ],
    )
    def test_refused(self, sql: str) -> None:
        with pytest.raises(Invalid):
            check_select(sql, "postgres", READABLE, 10)

    def test_secret_tables_follow_the_declared_columns(self) -> None:
        assert {"users", "api_keys", "refresh_tokens", "provider_connections"} <= secret_tables()
        assert "conversations" not in secret_tables()


class TestReadOnly:
    async def test_a_write_that_slips_past_the_check_fails_and_writing_goes_on(
        self, harness: Harness
    ) -> None:
        owner = (await harness.user("owner@example.com")).id

        async def work(services: Services) -> None:
            repo = SqlRepository(services.uow.session)
            with pytest.raises(QueryFailed):
                await repo.run_read_only(
                    "DELETE FROM conversations", max_rows=10, timeout_seconds=5
                )
            # The request's own writes still work afterwards.
            await services.providers.save_connection(owner, "openai", api_key="sk-still-works-1234")

        await harness.run(work)

        async def check(services: Services) -> None:
            assert await services.providers.get_connection(owner, "openai") is not None

        await harness.run(check)

    async def test_a_query_is_stopped_at_its_deadline(self, harness: Harness) -> None:
        endless = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
        )

        async def work(services: Services) -> None:
            view = SqlView(services.uow.session, enabled=True, timeout_seconds=0.2)
            with pytest.raises(QueryFailed, match=r"longer than 0\.2 s"):
                await view.query(OWNER, endless)

        await harness.run(work)


class TestGate:
    async def test_off_and_not_for_users(self, harness: Harness) -> None:
        user = Principal(user_id="u", email="u@example.com")

        async def work(services: Services) -> None:
            with pytest.raises(PermissionDenied, match="SWITCHBOARD_DATABASE_API"):
                await SqlView(services.uow.session, enabled=False).tables(ADMIN)
            with pytest.raises(PermissionDenied, match="owner and administrators"):
                await SqlView(services.uow.session, enabled=True).tables(user)
            assert "conversations" in await SqlView(services.uow.session, enabled=True).tables(
                OWNER
            )

        await harness.run(work)
