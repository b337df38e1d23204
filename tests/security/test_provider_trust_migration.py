"""Issue 11 #1: the migration moves trust out of the client-writable settings.

A `private_ok` in `settings` may have been written by a client (PocketLLM's `metadata`
was merged there), so it is removed, and the new column starts false for every row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import JSON, Boolean, String, column, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.clock import utcnow
from switchboard.kit.db import UTCDateTime, create_engine
from switchboard.migrations.runner import downgrade_to, upgrade_to
from tests.migrations.rows import user_row, users_table

BEFORE = "2fdde15e1daf"
TRUST_COLUMN = "3a7c9e1b5d20"

_users = users_table()
_connections = table(
    "provider_connections",
    column("id", String),
    column("user_id", String),
    column("provider", String),
    column("label", String),
    column("is_active", Boolean),
    column("settings", JSON),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'trust.db'}")
    yield made
    await made.dispose()


def _connection(row_id: str, provider: str, settings: dict[str, object]) -> dict[str, object]:
    now = utcnow()
    return {
        "id": row_id,
        "user_id": "u1",
        "provider": provider,
        "label": "default",
        "is_active": True,
        "settings": settings,
        "created_at": now,
        "updated_at": now,
    }


async def test_private_ok_leaves_the_settings_and_no_row_is_trusted(engine: AsyncEngine) -> None:
    await upgrade_to(engine, BEFORE)
    now = utcnow()
    async with engine.begin() as db:
        await db.execute(_users.insert(), [user_row("u1", "u1@example.com", at=now)])
        await db.execute(
            _connections.insert(),
            [
                _connection("c1", "openai", {"private_ok": True, "defaultModel": "m"}),
                _connection("c2", "groq", {"note": "kept"}),
                _connection("c3", "ollama", {}),
            ],
        )

    await upgrade_to(engine, TRUST_COLUMN)

    trusted = column("private_ok", Boolean)
    async with engine.connect() as db:
        rows = (
            await db.execute(
                select(_connections.c.id, _connections.c.settings, trusted)
                .select_from(_connections)
                .order_by(_connections.c.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("c1", {"defaultModel": "m"}, False),
        ("c2", {"note": "kept"}, False),
        ("c3", {}, False),
    ]

    await downgrade_to(engine, BEFORE)
    async with engine.connect() as db:
        names = await db.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("provider_connections")}
        )
    assert "private_ok" not in names
