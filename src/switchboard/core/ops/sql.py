"""A read-only view of the database for the owner and administrators (Spoon Feeder's
`/api/database/*`).

It is off unless local trust is on (the server listens on loopback only) or the operator
turns it on (`SWITCHBOARD_DATABASE_API`). A query must be exactly one SELECT: it is
parsed (sqlglot) and refused when it writes anything (a data-modifying CTE, `SELECT
INTO`), locks rows, calls a function the parser does not know as standard SQL (what
reads files or server settings, `pg_read_file`, `set_config`, ...), or names a table that
is not one of the application's or that holds secrets (password, key and token hashes,
encrypted provider keys, sign-in sessions and identities). What runs is the parsed
statement, regenerated with a row cap, inside a read-only savepoint with a deadline
(`sql_repository`); the savepoint is always rolled back.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

import switchboard.models  # noqa: F401  (every table is declared on the metadata)
from switchboard.core.accounts.principal import Principal
from switchboard.core.errors import Invalid, NotFound, PermissionDenied
from switchboard.core.ops.sql_repository import Column, SqlRepository
from switchboard.kit.db import Base

if TYPE_CHECKING:
    # sqlglot is imported when a query is checked, not at start-up: it takes a quarter
    # of a second and megabytes that a server never using this view should not pay.
    from sqlglot import exp

MAX_ROWS = 1000
TIMEOUT_SECONDS = 5.0
DISABLED = (
    "The database API is off: it is served only while the server listens on loopback "
    "only, or when the operator sets SWITCHBOARD_DATABASE_API=true"
)
# Tables refused whatever their columns: sign-in state.
DENIED_TABLES = frozenset({"auth_sessions", "identities"})
# A table with a column named like this holds secrets and is refused as a whole.
SECRET_COLUMN = re.compile(r"password|secret|token_hash|key_hash|encrypted|private_key")


@functools.cache
def _forbidden_nodes() -> tuple[type[exp.Expression], ...]:
    """Statements and clauses that write, lock or change the session, wherever they appear."""
    from sqlglot import exp

    return (
        exp.Insert,
        exp.Update,
        exp.Delete,
        exp.Merge,
        exp.Create,
        exp.Drop,
        exp.Alter,
        exp.TruncateTable,
        exp.Copy,
        exp.Command,
        exp.Pragma,
        exp.Attach,
        exp.Detach,
        exp.Set,
        exp.Into,
        exp.Lock,
        exp.Transaction,
        exp.Commit,
        exp.Rollback,
    )


DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite"}
# Schemas a table may be named in: the application's default one only.
DEFAULT_SCHEMAS = frozenset({"", "public", "main"})


@dataclass(frozen=True, slots=True)
class TableSchema:
    """A table and its columns."""

    table: str
    columns: list[Column]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """A query's rows (as objects keyed by column), their count and column names."""

    rows: list[dict[str, Any]]
    row_count: int
    fields: list[str]
    truncated: bool


def secret_tables() -> frozenset[str]:
    """The tables the view never shows: `DENIED_TABLES` and every table declared with a
    column named like a secret."""
    flagged = {
        table.name
        for table in Base.metadata.tables.values()
        if any(SECRET_COLUMN.search(column.name) for column in table.columns)
    }
    return DENIED_TABLES | flagged


class SqlView:
    """Tables, schemas and read-only queries, for the owner and administrators."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        enabled: bool,
        max_rows: int = MAX_ROWS,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        self._repo = SqlRepository(session)
        self._enabled = enabled
        self._max_rows = max_rows
        self._timeout = timeout_seconds

    async def tables(self, principal: Principal) -> list[str]:
        """The tables a query may read, sorted."""
        self._admit(principal)
        return await self._readable()

    async def schema(self, principal: Principal, table: str) -> TableSchema:
        """The columns of one readable table."""
        self._admit(principal)
        name = table.lower()
        _refuse_secret(name)
        if name not in await self._readable():
            raise NotFound(f"Table '{table[:64]}' not found")
        return TableSchema(table=name, columns=await self._repo.columns(name))

    async def query(self, principal: Principal, sql: str) -> QueryResult:
        """Run one checked SELECT read-only (see the module's docstring)."""
        self._admit(principal)
        dialect = DIALECTS.get(await self._repo.dialect(), "postgres")
        checked = check_select(sql, dialect, frozenset(await self._readable()), self._max_rows)
        found = await self._repo.run_read_only(
            checked, max_rows=self._max_rows, timeout_seconds=self._timeout
        )
        rows = [
            {field: _json_value(value) for field, value in zip(found.fields, row, strict=False)}
            for row in found.rows
        ]
        return QueryResult(
            rows=rows, row_count=len(rows), fields=found.fields, truncated=found.truncated
        )

    def _admit(self, principal: Principal) -> None:
        if not self._enabled:
            raise PermissionDenied(DISABLED, code="database_api_disabled")
        if not (principal.is_admin or principal.is_owner):
            raise PermissionDenied(
                "The database API is for the owner and administrators only",
                code="admin_required",
            )

    async def _readable(self) -> list[str]:
        hidden = secret_tables()
        return [name for name in await self._repo.table_names() if name not in hidden]


def check_select(sql: str, dialect: str, readable: frozenset[str], max_rows: int) -> str:
    """The statement to run for `sql`: exactly one SELECT reading only `readable` tables,
    capped at `max_rows` + 1 rows when it has no LIMIT of its own. `Invalid` otherwise."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except SqlglotError as exc:
        raise Invalid(f"The query could not be parsed: {str(exc)[:200]}", param="query") from None
    if len(statements) != 1:
        raise Invalid("Send exactly one SELECT statement", param="query")
    statement = statements[0]
    if not isinstance(statement, exp.Query) or not isinstance(
        statement, (exp.Select, exp.SetOperation, exp.Subquery)
    ):
        raise Invalid("Only SELECT statements are allowed", param="query")
    _check_nodes(statement, readable)
    if statement.args.get("limit") is None:
        statement = statement.limit(max_rows + 1)
    return statement.sql(dialect=dialect)


def _check_nodes(statement: exp.Expression, readable: frozenset[str]) -> None:
    from sqlglot import exp

    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    for node in statement.walk():
        if isinstance(node, _forbidden_nodes()) or (
            isinstance(node, exp.Select) and node.args.get("locks")
        ):
            raise Invalid("Only SELECT statements that change nothing are allowed", param="query")
        if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
            raise Invalid(
                f"The function '{str(node.name)[:64]}' is not allowed here", param="query"
            )
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            _check_table(node, readable, ctes)


def _check_table(table: exp.Table, readable: frozenset[str], ctes: set[str]) -> None:
    name = table.name.lower()
    if table.catalog or table.db.lower() not in DEFAULT_SCHEMAS:
        raise Invalid("Only the application's own tables can be queried", param="query")
    # Before the CTE names: `WITH users AS (SELECT * FROM users)` reads the real table.
    _refuse_secret(name)
    if not table.db and name in ctes:
        return
    if name not in readable:
        raise Invalid(f"Unknown table '{name[:64]}'", param="query")


def _refuse_secret(name: str) -> None:
    if name in secret_tables():
        raise PermissionDenied(
            f"The table '{name}' holds secrets and cannot be read here", code="secret_table"
        )


def _json_value(value: Any) -> Any:
    """A database value as JSON can carry it."""
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return str(value)
