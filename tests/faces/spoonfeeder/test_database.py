"""Contract: `/api/database/*` (document section "Database"): owner and administrators
only, off unless allowed, one SELECT run read-only, secrets never shown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.faces.spoonfeeder.conftest import data_of, error_of
from tests.fixtures.app import Harness, User

COUNT = "SELECT count(*) AS n FROM conversations"
SECRET_TABLES = {"users", "api_keys", "refresh_tokens", "provider_connections", "auth_sessions"}


@pytest.fixture
async def enabled(harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    """An app whose operator turned the database API on."""
    return await harness_factory(database_api=True)


async def admin_of(harness: Harness) -> User:
    return await harness.user("admin@example.com", admin=True)


async def run(harness: Harness, user: User, sql: str, path: str = "query") -> Any:
    return await harness.client.post(
        f"/api/database/{path}", headers=user.token_headers, json={"query": sql}
    )


async def conversations(harness: Harness, user: User) -> int:
    rows = data_of(await run(harness, user, COUNT))["rows"]
    count: int = rows[0]["n"]
    return count


class TestSwitchedOff:
    async def test_off_by_default_for_everyone(self, harness: Harness) -> None:
        admin = await admin_of(harness)

        for response in (
            await harness.client.get("/api/database/tables", headers=admin.token_headers),
            await run(harness, admin, "SELECT 1"),
        ):
            assert "SWITCHBOARD_DATABASE_API" in error_of(response, 403, "FORBIDDEN")

    async def test_on_under_local_trust(
        self, harness_factory: Callable[..., Awaitable[Harness]]
    ) -> None:
        harness = await harness_factory(local_trust="on")
        admin = await admin_of(harness)

        response = await harness.client.get("/api/database/tables", headers=admin.token_headers)

        assert "conversations" in data_of(response)


class TestWho:
    async def test_a_user_is_refused(self, enabled: Harness) -> None:
        alice = await enabled.user("alice@example.com")
        error_of(await run(enabled, alice, "SELECT 1"), 403)
        error_of(await enabled.client.get("/api/database/tables", headers=alice.headers), 403)

    async def test_an_admin_key_needs_the_admin_scope(self, enabled: Harness) -> None:
        scoped = await enabled.user("a@example.com", admin=True, scopes=["admin"])
        chat_only = await enabled.user("b@example.com", admin=True, scopes=["chat"])

        ok = await enabled.client.get("/api/database/tables", headers=scoped.headers)
        assert "conversations" in data_of(ok)
        refused = await enabled.client.get("/api/database/tables", headers=chat_only.headers)
        error_of(refused, 403)


class TestContract:
    async def test_tables_golden(self, enabled: Harness) -> None:
        admin = await admin_of(enabled)

        tables = data_of(
            await enabled.client.get("/api/database/tables", headers=admin.token_headers)
        )

        assert isinstance(tables, list) and all(isinstance(t, str) for t in tables)
        assert {"conversations", "messages", "jobs"} <= set(tables)
        assert not SECRET_TABLES & set(tables)
        assert tables == sorted(tables)

    async def test_schema_golden(self, enabled: Harness) -> None:
        admin = await admin_of(enabled)

        data = data_of(
            await enabled.client.get(
                "/api/database/tables/conversations/schema", headers=admin.token_headers
            )
        )

        assert data["table"] == "conversations"
        columns = {c["name"]: c for c in data["columns"]}
        assert set(columns["id"]) == {"name", "type", "nullable", "default"}
        assert columns["id"]["nullable"] is False and isinstance(columns["id"]["type"], str)
        assert "user_id" in columns

    async def test_schema_of_unknown_and_secret_tables(self, enabled: Harness) -> None:
        admin = await admin_of(enabled)
        headers = admin.token_headers

        missing = await enabled.client.get("/api/database/tables/nope/schema", headers=headers)
        error_of(missing, 404, "NOT_FOUND")
        secret = await enabled.client.get("/api/database/tables/users/schema", headers=headers)
        assert "secrets" in error_of(secret, 403)

    @pytest.mark.parametrize("path", ["query", "sql"])
    async def test_query_golden(self, enabled: Harness, path: str) -> None:
        admin = await admin_of(enabled)

        data = data_of(await run(enabled, admin, "SELECT 1 AS one, 'a' AS letter;", path))

        assert data == {
            "rows": [{"one": 1, "letter": "a"}],
            "rowCount": 1,
            "fields": ["one", "letter"],
            "truncated": False,
        }

    async def test_rows_are_capped(self, enabled: Harness) -> None:
        admin = await admin_of(enabled)
        sql = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) "
            "SELECT i FROM n"
        )

        data = data_of(await run(enabled, admin, sql))

        assert data["rowCount"] == 1000 and len(data["rows"]) == 1000
        assert data["truncated"] is True and data["rows"][0] == {"i": 1}

    async def test_the_original_sql_field_works(self, enabled: Harness) -> None:
        admin = await admin_of(enabled)
        response = await enabled.client.post(
            "/api/database/sql", headers=admin.token_headers, json={"sql": "SELECT 2 AS two"}
        )
        assert data_of(response)["rows"] == [{"two": 2}]


class TestOnlyOneSelect:
    @pytest.mark.parametrize(
        "sql",
        [
            "DROP TABLE conversations",
            "INSERT INTO conversations (id) VALUES ('x')",
            "UPDATE conversations SET title = 'x'",
            "DELETE FROM conversations",
            "ATTACH DATABASE '/tmp/other.db' AS other",
            "PRAGMA query_only = OFF",
            "SELECT 1; DELETE FROM conversations",
            "SELECT 1; SELECT 2",
            "WITH gone AS (DELETE FROM conversations RETURNING id) SELECT * FROM gone",
            "SELECT * INTO copied FROM conversations",
            "SELECT * FROM conversations FOR UPDATE",
            "SELECT pg_read_file('/etc/passwd')",
            "SELECT set_config('statement_timeout', '0', false)",
            "SELECT * FROM information_schema.tables",
            "SELECT * FROM sqlite_master",
            "SELECT * FROM pg_catalog.pg_shadow",
            "COMMIT",
            "SELEC 1",
            "",
        ],
    )
    async def test_refused_and_nothing_changes(self, enabled: Harness, sql: str) -> None:
        admin = await admin_of(enabled)
        before = await conversations(enabled, admin)

        error_of(await run(enabled, admin, sql), 400)

        assert await conversations(enabled, admin) == before
        tables = data_of(
            await enabled.client.get("/api/database/tables", headers=admin.token_headers)
        )
        assert "conversations" in tables and "copied" not in tables

    @pytest.mark.parametrize(
        "sql",
        [
            "SELECT password_hash FROM users",
            "SELECT * FROM provider_connections",
            "SELECT (SELECT secret_hash FROM api_keys LIMIT 1) AS k",
            "WITH users AS (SELECT * FROM users) SELECT * FROM users",
            "SELECT token_hash FROM public.refresh_tokens",
        ],
    )
    async def test_tables_holding_secrets_are_refused(self, enabled: Harness, sql: str) -> None:
        admin = await admin_of(enabled)
        assert "holds secrets" in error_of(await run(enabled, admin, sql), 403)

    async def test_a_database_error_is_400(self, enabled: Harness) -> None:
        admin = await admin_of(enabled)
        response = await run(enabled, admin, "SELECT no_such_column FROM conversations")
        assert "The query failed" in error_of(response, 400, "BAD_REQUEST")
        # The request's unit of work is still usable after the failed statement.
        assert await conversations(enabled, admin) >= 0
