"""The runner tells its caller of each revision as it applies it (the CLI's progress),
and the monthly quota column arrives empty (every user keeps their tier's limit)."""

from __future__ import annotations

import uuid

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.clock import utcnow
from switchboard.migrations.runner import (
    MIGRATIONS_DIR,
    MigrationStep,
    downgrade_to,
    upgrade_to,
    upgrade_to_head,
)
from tests.migrations.test_migrations import scratch_engine, user_columns

__all__ = ["scratch_engine"]

BEFORE_QUOTA = "5c9e1a3d7f42"
QUOTA = "6d0f2b4e8a13"


def history() -> list[str]:
    """Every revision, oldest first."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    revisions = [rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()]
    return list(reversed(revisions))


async def test_each_revision_is_told_in_order(scratch_engine: AsyncEngine) -> None:
    seen: list[MigrationStep] = []

    applied = await upgrade_to_head(scratch_engine, seen.append)

    revisions = history()
    assert applied == len(revisions)
    assert [step.revision for step in seen] == revisions
    assert [(step.number, step.total) for step in seen] == [
        (n, len(revisions)) for n in range(1, len(revisions) + 1)
    ]
    assert seen[0].description == "initial schema"
    again: list[MigrationStep] = []
    assert await upgrade_to_head(scratch_engine, again.append) == 0
    assert again == []


async def test_monthly_quota_arrives_empty_and_goes(scratch_engine: AsyncEngine) -> None:
    await upgrade_to(scratch_engine, BEFORE_QUOTA)
    user_id = str(uuid.uuid4())
    async with scratch_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (id, email, is_admin, is_owner, is_active, token_version,"
                " survey_completed, subscription_tier, created_at, updated_at) VALUES"
                " (:id, 'q@example.com', false, false, true, 0, false, 'free', :now, :now)"
            ),
            {"id": user_id, "now": utcnow()},
        )
    seen: list[MigrationStep] = []

    assert await upgrade_to(scratch_engine, QUOTA, seen.append) == 1

    assert [(s.number, s.total, s.revision) for s in seen] == [(1, 1, QUOTA)]
    async with scratch_engine.connect() as connection:
        quota = await connection.scalar(
            text("SELECT monthly_quota FROM users WHERE id = :id"), {"id": user_id}
        )
        assert quota is None
    await downgrade_to(scratch_engine, BEFORE_QUOTA)
    async with scratch_engine.connect() as connection:
        assert "monthly_quota" not in await connection.run_sync(user_columns)
