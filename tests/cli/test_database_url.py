"""The database URL as people write it: `postgresql://`, `postgres://`, `sqlite://`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from switchboard.kit.db import async_database_url, create_engine
from tests.cli.test_startup_failures import PASSWORD, PG, needs_postgres, switchboard


@pytest.mark.parametrize(
    ("written", "used"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://h/db", "postgresql+asyncpg://h/db"),
        ("sqlite:////srv/sb.db", "sqlite+aiosqlite:////srv/sb.db"),
        ("postgresql+asyncpg://h/db", "postgresql+asyncpg://h/db"),
        ("sqlite+aiosqlite:///sb.db", "sqlite+aiosqlite:///sb.db"),
    ],
)
def test_urls_are_mapped_to_the_async_drivers(written: str, used: str) -> None:
    assert async_database_url(written) == used


@pytest.fixture
async def scratch_database() -> AsyncIterator[str]:
    """An empty PostgreSQL database, dropped afterwards."""
    name = f"switchboard_cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG.set(drivername="postgresql+asyncpg").render_as_string(False))
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield name
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


@needs_postgres
@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
async def test_the_cli_runs_on_a_plain_postgresql_url(
    scratch_database: str, tmp_path: Path, scheme: str
) -> None:
    url = PG.set(drivername=scheme, database=scratch_database).render_as_string(False)
    env = {"SWITCHBOARD_DATABASE_URL": url}
    migrated = switchboard(tmp_path, "migrate", **env)
    assert migrated.returncode == 0, migrated.stderr
    assert "Database migrated" in migrated.stdout
    created = switchboard(
        tmp_path, "user", "create", "ann@example.com", "--password", "a-long-password-1", **env
    )
    assert created.returncode == 0, created.stderr
    assert "ann@example.com" in switchboard(tmp_path, "user", "list", **env).stdout
    assert PASSWORD  # the URL here has none: trust auth on the test server
