"""Raw access for the read-only database view: the tables, their columns, and running a
query that was checked (`core.ops.sql`) inside a read-only savepoint.

PostgreSQL: `SET TRANSACTION READ ONLY` and `SET LOCAL statement_timeout` inside a
savepoint that is always rolled back, which also undoes both settings. SQLite:
`PRAGMA query_only` on the session's connection, restored afterwards, and a progress
handler that interrupts the statement at its deadline.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from switchboard.core.errors import Invalid

# How often (in SQLite virtual machine steps) the deadline is checked.
PROGRESS_STEPS = 10_000
MAX_ERROR = 300


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table as the database describes it."""

    name: str
    type: str
    nullable: bool
    default: str | None


@dataclass(frozen=True, slots=True)
class Rows:
    """What a query answered: its column names and at most the rows asked for."""

    fields: list[str]
    rows: list[Sequence[Any]]
    truncated: bool


class QueryFailed(Invalid):
    """The database refused the query or stopped it at its deadline."""

    default_code = "query_failed"


class SqlRepository:
    """The database's own description of itself, and read-only statements."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def dialect(self) -> str:
        """`postgresql` or `sqlite`."""
        connection = await self._session.connection()
        return connection.dialect.name

    async def table_names(self) -> list[str]:
        """The tables of the default schema, sorted."""
        connection = await self._session.connection()
        return sorted(await connection.run_sync(_table_names))

    async def columns(self, table: str) -> list[Column]:
        """The columns of `table`, in table order."""
        connection = await self._session.connection()
        found: list[Column] = await connection.run_sync(_columns, table)
        return found

    async def run_read_only(self, sql: str, *, max_rows: int, timeout_seconds: float) -> Rows:
        """Run `sql` read-only; at most `max_rows` rows, `truncated` when there were more."""
        savepoint = await self._session.begin_nested()
        connection = await self._session.connection()
        sqlite = connection.dialect.name == "sqlite"
        deadline = time.monotonic() + timeout_seconds
        try:
            if sqlite:
                await _sqlite_guard(connection, deadline)
            else:
                await connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                millis = max(1, int(timeout_seconds * 1000))
                await connection.exec_driver_sql(f"SET LOCAL statement_timeout = {millis}")
            result = await connection.exec_driver_sql(sql)
            fields = list(result.keys())
            rows: list[Sequence[Any]] = list(result.fetchmany(max_rows + 1))
        except DBAPIError as exc:
            if time.monotonic() >= deadline:
                raise QueryFailed(
                    f"The query ran longer than {timeout_seconds:g} s and was stopped",
                    code="query_timeout",
                ) from None
            raise QueryFailed(f"The query failed: {_first_line(exc)}") from None
        finally:
            await savepoint.rollback()
            if sqlite:
                await _sqlite_release(connection)
        return Rows(fields=fields, rows=rows[:max_rows], truncated=len(rows) > max_rows)


def _table_names(connection: Connection) -> list[str]:
    return list(inspect(connection).get_table_names())


def _columns(connection: Connection, table: str) -> list[Column]:
    return [
        Column(
            name=str(c["name"]),
            type=str(c["type"]).lower(),
            nullable=bool(c.get("nullable", True)),
            default=None if c.get("default") is None else str(c["default"]),
        )
        for c in inspect(connection).get_columns(table)
    ]


async def _sqlite_guard(connection: AsyncConnection, deadline: float) -> None:
    await connection.exec_driver_sql("PRAGMA query_only = ON")
    driver = await _driver(connection)
    # Called on the driver's thread between steps: a true answer interrupts the statement.
    await driver.set_progress_handler(lambda: time.monotonic() >= deadline, PROGRESS_STEPS)


async def _sqlite_release(connection: AsyncConnection) -> None:
    driver = await _driver(connection)
    await driver.set_progress_handler(None, 0)
    await connection.exec_driver_sql("PRAGMA query_only = OFF")


async def _driver(connection: AsyncConnection) -> Any:
    """The driver's own connection (aiosqlite's), for what SQLAlchemy does not expose."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # an open pooled connection always has one
    return driver


def _first_line(exc: DBAPIError) -> str:
    message = str(exc.orig).strip().splitlines()
    return (message[0] if message else type(exc.orig).__name__)[:MAX_ERROR]
