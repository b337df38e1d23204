"""Usage rows, written in batches and read per owner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.usage.recorder import UsageEntry
from switchboard.kit.ids import new_id
from switchboard.models import UsageRecord, User

USAGE_TABLE = cast(Table, UsageRecord.__table__)  # declared as a FromClause; it is a Table


class UsageRepository:
    """Owner-scoped reads and batched inserts of `usage_records`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def insert_many(self, entries: Sequence[UsageEntry]) -> int:
        """Insert the entries of users that still exist, in one statement; returns how many.

        An account deleted while its usage waited in the batch must not make the whole
        batch fail its foreign key forever.
        """
        user_ids = {e.user_id for e in entries}
        existing = set(await self._session.scalars(select(User.id).where(User.id.in_(user_ids))))
        entries = [e for e in entries if e.user_id in existing]
        if not entries:
            return 0
        rows = [
            {
                "id": new_id(),
                "user_id": e.user_id,
                "api_key_id": e.api_key_id,
                "source": e.source,
                "kind": e.kind,
                "provider": e.provider,
                "model": e.model,
                "prompt_tokens": e.prompt_tokens,
                "completion_tokens": e.completion_tokens,
                "cost_usd": e.cost_usd,
                "created_at": e.created_at,
            }
            for e in entries
        ]
        # A Core insert of the table: the rows are complete, so the ORM's per-row
        # bookkeeping of an ORM bulk insert would be work for nothing.
        await self._session.execute(insert(USAGE_TABLE), rows)
        return len(rows)

    async def totals(
        self, owner_id: str, since: datetime | None = None
    ) -> list[tuple[str, str, int, int, int, float]]:
        """(provider, model, calls, prompt tokens, completion tokens, cost) per model."""
        query = select(
            UsageRecord.provider,
            UsageRecord.model,
            func.count(),
            func.coalesce(func.sum(UsageRecord.prompt_tokens), 0),
            func.coalesce(func.sum(UsageRecord.completion_tokens), 0),
            func.coalesce(func.sum(UsageRecord.cost_usd), 0.0),
        ).where(UsageRecord.user_id == owner_id)
        if since is not None:
            query = query.where(UsageRecord.created_at >= since)
        query = query.group_by(UsageRecord.provider, UsageRecord.model).order_by(
            UsageRecord.provider, UsageRecord.model
        )
        result = await self._session.execute(query)
        return [tuple(row) for row in result.all()]  # type: ignore[misc]
