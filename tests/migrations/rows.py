"""Rows written straight into an older schema, for tests of data migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, column, table
from sqlalchemy.sql.expression import ColumnClause, TableClause

from switchboard.kit.clock import utcnow
from switchboard.kit.db import UTCDateTime


def users_table(*extra: ColumnClause[Any]) -> TableClause:
    """`users` as every revision has it (the NOT NULL columns), plus `extra` columns."""
    return table(
        "users",
        column("id", String),
        column("email", String),
        *extra,
        column("is_admin", Boolean),
        column("is_owner", Boolean),
        column("is_active", Boolean),
        column("token_version", Integer),
        column("survey_completed", Boolean),
        column("subscription_tier", String),
        column("created_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
    )


def user_row(
    user_id: str, email: str, *, at: datetime | None = None, **extra: object
) -> dict[str, object]:
    """A plain, active, free-tier user created `at` (now by default), with `extra` columns."""
    created = at or utcnow()
    return {
        "id": user_id,
        "email": email,
        "is_admin": False,
        "is_owner": False,
        "is_active": True,
        "token_version": 0,
        "survey_completed": False,
        "subscription_tier": "free",
        "created_at": created,
        "updated_at": created,
        **extra,
    }
