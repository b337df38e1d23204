"""Start-up failures an operator can fix, told in one line: the setting, what is wrong
and what to do, instead of a traceback hundreds of lines long.

`explain` walks an exception's causes looking for what it knows: a database that does
not exist or refused the user, a host that does not answer, a URL that is not one, a
Redis that cannot be reached. Whatever it does not know stays a traceback (a bug).
Passwords are never printed: URLs are rendered with theirs hidden.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from switchboard.kit.db import DatabaseUnavailable, async_database_url

DATABASE = "SWITCHBOARD_DATABASE_URL"
REDIS = "SWITCHBOARD_REDIS_URL"
DATABASE_FORMS = "postgresql://USER:PASSWORD@HOST:5432/NAME or sqlite:///PATH"
REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_FORMS = f"{REDIS} is not a Redis URL; write redis://HOST:6379/0 (rediss:// for TLS)"

# PostgreSQL's SQLSTATE codes of a refused connection (asyncpg's errors carry them).
NO_SUCH_DATABASE = "3D000"
WRONG_PASSWORD = "28P01"
NOT_AUTHORIZED = "28000"  # no such role, or pg_hba.conf has no entry for it
TRY_AGAIN = ("53300", "57P03")  # too many connections; starting up or shutting down


def preflight_problem(database_url: str, redis_url: str | None) -> str | None:
    """A line for settings that cannot work, found before connecting anywhere: a URL
    that is not one, a database switchboard does not run on, a SQLite file whose
    directory is missing (the driver's failure there leaves a stray thread behind)."""
    parsed = _parsed(database_url)
    if parsed is None:
        return f"{DATABASE} is not a URL; write {DATABASE_FORMS}"
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        return (
            f"{DATABASE}: {parsed.render_as_string(hide_password=True)} is not a database"
            f" switchboard can use; write {DATABASE_FORMS}"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().absolute().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            return _sqlite_line(parsed.database)
    if redis_url is not None and urlsplit(redis_url).scheme not in REDIS_SCHEMES:
        return REDIS_FORMS
    return None


def explain(exc: BaseException, database_url: str, redis_url: str | None) -> str | None:
    """One line for a failure of the database or Redis settings, or None for anything
    else (which stays a traceback)."""
    for cause in _causes(exc):
        line = _database_line(cause, database_url)
        if line is None and redis_url is not None:
            line = _redis_line(cause, redis_url)
        if line is not None:
            return line
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


# -- the database -------------------------------------------------------------------------
def _database_line(exc: BaseException, url: str) -> str | None:
    parsed = _parsed(url)
    if isinstance(exc, sa_exc.ArgumentError | sa_exc.NoSuchModuleError) or (
        isinstance(exc, sa_exc.InvalidRequestError) and "async" in str(exc)
    ):
        if parsed is None:
            return f"{DATABASE} is not a URL; write {DATABASE_FORMS}"
        return (
            f"{DATABASE}: {parsed.render_as_string(hide_password=True)} is not a database"
            f" switchboard can use; write {DATABASE_FORMS}"
        )
    if parsed is None:
        return None
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and parsed.get_backend_name() == "postgresql":
        return _postgres_refusal(sqlstate, exc, parsed, where)
    if isinstance(exc, DatabaseUnavailable):
        reason = _unreachable(exc.__cause__, parsed.host or "localhost", where)
        return f"{DATABASE}: {reason}; start PostgreSQL there or fix the host and port in the URL"
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
        return _sqlite_line(parsed.database)
    return None


def _sqlite_line(path: str | None) -> str:
    return (
        f"{DATABASE}: cannot open the SQLite file {path}; create its directory and make it"
        " writable, or fix the URL (or SWITCHBOARD_DATA_DIR)"
    )


def _postgres_refusal(sqlstate: str, exc: BaseException, url: URL, where: str) -> str | None:
    user = url.username or "postgres"
    if sqlstate == NO_SUCH_DATABASE:
        return (
            f'{DATABASE}: database "{url.database}" does not exist on {where};'
            f" create it (createdb {url.database}) or fix the URL"
        )
    if sqlstate == WRONG_PASSWORD:
        return (
            f'{DATABASE}: PostgreSQL on {where} refused the password of user "{user}";'
            " fix the password in the URL"
        )
    if sqlstate == NOT_AUTHORIZED:
        return (
            f"{DATABASE}: PostgreSQL on {where} refused the connection: {exc};"
            " fix the user in the URL, or create it (createuser) or allow it (pg_hba.conf)"
        )
    if sqlstate in TRY_AGAIN:
        return f"{DATABASE}: PostgreSQL on {where} refused the connection: {exc}; try again"
    return None


def _parsed(url: str) -> URL | None:
    try:
        return make_url(async_database_url(url))
    except sa_exc.ArgumentError:
        return None


# -- Redis ------------------------------------------------------------------------------
def _redis_line(exc: BaseException, url: str) -> str | None:
    if isinstance(exc, ValueError) and "Redis URL" in str(exc):
        return REDIS_FORMS
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    where = f"{host}:{_port(parts.port)}"
    if isinstance(exc, redis_errors.AuthenticationError):
        return f"{REDIS}: Redis on {where} refused the password; fix it in the URL"
    if isinstance(exc, redis_errors.ResponseError):
        return f"{REDIS}: Redis on {where} answered: {exc}; fix the URL"
    if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError):
        reason = _unreachable(exc.__cause__ or exc.__context__, host, where)
        return f"{REDIS}: {reason}; start Redis there or fix the URL"
    return None


def _port(port: int | None) -> int:
    return 6379 if port is None else port


# -- both -------------------------------------------------------------------------------
def _unreachable(cause: BaseException | None, host: str, where: str) -> str:
    """Why nothing answered at `where`, from the socket's own error."""
    if isinstance(cause, socket.gaierror):
        return f'the host "{host}" is unknown'
    if isinstance(cause, ConnectionRefusedError):
        return f"nothing answers on {where} (connection refused)"
    if isinstance(cause, TimeoutError):
        return f"{where} did not answer in time"
    if isinstance(cause, OSError) and cause.strerror:
        return f"cannot reach {where} ({cause.strerror.lower()})"
    return f"cannot reach {where}"
