"""Database plumbing: the declarative base, engines, and the unit of work.

The unit of work is owned by whoever starts it (a request, a job, a CLI command): it
commits once at the end and runs the after-commit callbacks (jobs to enqueue, events to
publish) only when that commit succeeded. Services receive the session and never commit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, String, TypeDecorator, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from switchboard.kit.clock import as_utc

AfterCommit = Callable[[], Awaitable[None]]

# A pooled connection that sat idle longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "switchboard_checked_in_at"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class DatabaseUnavailable(sa_exc.SQLAlchemyError):
    """The database could not be reached (refused, reset, timed out, not opened)."""


def is_database_outage(exc: BaseException) -> bool:
    """Whether `exc` means the database is away, rather than a bug or a bad statement.

    An outage is a connection that could not be made or was lost (asyncpg raises plain
    `OSError`s while connecting, which `create_engine` turns into `DatabaseUnavailable`),
    an `OperationalError` (SQLite: cannot open the file, locked past the busy timeout,
    I/O error; PostgreSQL: the server shutting down, too many connections), or a pool
    with no connection to hand out in time.
    """
    if isinstance(exc, DatabaseUnavailable | sa_exc.TimeoutError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
        return True
    if isinstance(exc, sa_exc.OperationalError):
        # sqlite3 files its statement errors ("no such table") under the same class.
        message = str(exc.orig).lower()
        return not _is_sqlite(exc) or any(sign in message for sign in _SQLITE_OUTAGES)
    return False


# What sqlite3 says when the file, not the statement, is the problem.
_SQLITE_OUTAGES = ("unable to open", "locked", "disk i/o", "disk is full", "readonly")


def _is_sqlite(exc: sa_exc.DBAPIError) -> bool:
    return type(exc.orig).__module__.startswith(("sqlite3", "aiosqlite"))


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always stored and returned as aware UTC, on every dialect."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None


class Base(DeclarativeBase):
    """The declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), str: String()}


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes a writer wait for the
    # lock instead of failing; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _close_interrupted_cursor(context: ExceptionContext) -> None:
    # A statement interrupted by a cancellation (a request gone, a job's watcher stopped)
    # leaves its SQLite cursor unfinished, and an unfinished `UPDATE ... RETURNING` holds
    # the write lock until the cursor is garbage-collected: every other writer times out
    # meanwhile. Closing the cursor waits for the statement and releases the lock.
    execution = context.execution_context
    if isinstance(context.original_exception, Exception) or execution is None:
        return
    with contextlib.suppress(Exception):
        execution.cursor.close()


# The URL schemes people write, and the async driver switchboard runs each on.
_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_database_url(url: str) -> str:
    """`url` on its async driver: `postgresql://`, `postgres://` and `sqlite://` are the
    forms everyone writes; a URL naming its driver is kept as it is."""
    scheme, separator, rest = url.partition("://")
    driver = _ASYNC_DRIVERS.get(scheme.lower())
    return f"{driver}{separator}{rest}" if driver and separator else url


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine with the pragmas and pool settings each backend needs.

    `url` may name no driver (`postgresql://...`): it is mapped to the async one.
    """
    url = async_database_url(url)
    if url.startswith("sqlite"):
        # Each aiosqlite connection is a thread: keep enough of them pooled for bursts of
        # concurrent requests (overflow connections are opened and closed per use).
        # Request paths hold a connection only while they query, never across an
        # upstream call, so 20 + 30 covers thousands of concurrent streams.
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30},
            pool_size=20,
            max_overflow=30,
            pool_timeout=30,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "handle_error", _close_interrupted_cursor)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=20)
    ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    event.listen(engine.sync_engine, "do_connect", _connect_or_unavailable)
    return engine


def _connect_or_unavailable(
    dialect: Dialect, _record: ConnectionPoolEntry, cargs: Any, cparams: Any
) -> Any:
    # asyncpg raises the socket's own errors (refused, unreachable, timed out) while
    # connecting, which SQLAlchemy passes on unwrapped: name them as the outage they are.
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, TimeoutError) as exc:
        raise DatabaseUnavailable("The database cannot be reached") from exc


def ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout only when it sat idle for `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` pings at every checkout, which on asyncpg is three
    round trips (BEGIN, a query, ROLLBACK) before each transaction: on a busy process it
    cost more than the work. A connection returned a moment ago was alive a moment ago;
    the ones that sat idle (a restarted or failed-over server, an idle timeout, a
    firewall) are still checked. A connection that died within the last `idle_seconds`
    fails its statement as a disconnect, which invalidates the whole pool, so the next
    checkout connects afresh. A failed ping invalidates the pool too and hands out a
    new connection, as the pre-ping did.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    def checkout(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        # A fresh connection (its record's info is cleared on reconnect) needs no ping.
        returned = record.info.pop(_CHECKED_IN_AT, None)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                raise sa_exc.InvalidatePoolError() from err
            raise

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class UnitOfWork:
    """One transaction and the work that must wait until it commits.

    The session is opened on first use, and a session that never began a transaction is
    neither committed nor closed: a request that never touches the database (a gateway
    call answered from caches) costs no BEGIN, no COMMIT and no pooled connection.
    """

    def __init__(
        self,
        session: AsyncSession | None = None,
        *,
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        if session is None and sessions is None:
            raise TypeError("UnitOfWork needs a session or a session factory")
        self._session = session
        self._sessions = sessions
        self._after_commit: list[AfterCommit] = []

    @property
    def session(self) -> AsyncSession:
        """The unit of work's session, opened on first access."""
        if self._session is None:
            assert self._sessions is not None
            self._session = self._sessions()
        return self._session

    @property
    def opened(self) -> bool:
        """Whether the session was ever used."""
        return self._session is not None

    def after_commit(self, callback: AfterCommit) -> None:
        """Run `callback` once this unit of work has committed; drop it on rollback."""
        self._after_commit.append(callback)

    def _idle(self) -> bool:
        """No session, or one that never began a transaction and holds nothing."""
        session = self._session
        return session is None or not (
            session.in_transaction() or session.identity_map or session.new or session.deleted
        )

    async def commit(self) -> None:
        """Commit, then run the after-commit callbacks in the order they were added."""
        if not self._idle():
            assert self._session is not None
            await self._session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            await callback()

    async def rollback(self) -> None:
        """Roll back and forget the after-commit callbacks."""
        self._after_commit.clear()
        if not self._idle():
            assert self._session is not None
            await self._session.rollback()

    async def close(self) -> None:
        """Close the session if one was opened (returns its connection to the pool)."""
        if self._sessions is not None and not self._idle():
            assert self._session is not None
            # As `async with session:` does: the close runs to completion even when the
            # request is cancelled.
            await self._session.__aexit__(None, None, None)


# The innermost unit of work open in this task: an error answered without leaving the
# block that owns it (a request's, whose block ends after the response is rendered) must
# still be able to roll it back.
_CURRENT: ContextVar[UnitOfWork | None] = ContextVar("switchboard_unit_of_work", default=None)


async def abandon_current_unit_of_work() -> None:
    """Roll back the innermost open unit of work of this task, so that its block, when
    it ends, commits nothing and runs no after-commit callbacks (a database outage
    answered as an error response, after which a commit could only fail again)."""
    uow = _CURRENT.get()
    if uow is not None:
        await uow.rollback()


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[UnitOfWork]:
    """A unit of work that commits when the block succeeds and rolls back when it raises."""
    uow = UnitOfWork(sessions=sessions)
    token = _CURRENT.set(uow)
    try:
        try:
            yield uow
        except BaseException as exc:
            # Some refusals must persist what they did before raising (a reused refresh
            # token revokes its whole session family); they say so with this flag.
            if getattr(exc, "commit_unit_of_work", False):
                await uow.commit()
            else:
                await uow.rollback()
            raise
        else:
            await uow.commit()
    finally:
        _reset(token)
        await uow.close()


def _reset(token: Any) -> None:
    # A block left from another context than it was entered in (a generator closed by
    # the collector) cannot reset the variable, and need not: that context is gone.
    with contextlib.suppress(ValueError):
        _CURRENT.reset(token)
