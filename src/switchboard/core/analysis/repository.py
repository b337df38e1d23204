"""Queries for monthly query quotas and the query log; every one is scoped to its owner."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.analysis.schemas import Subscriber
from switchboard.models import QueryLog, UsageQuota, User


class QuotaRepository:
    """Queries used per user and period ("YYYY-MM")."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def used(self, owner_id: str, period: str) -> int:
        """Queries counted for the owner in `period` (0 before the first one)."""
        stmt = select(UsageQuota.used).where(
            UsageQuota.user_id == owner_id, UsageQuota.period == period
        )
        return int(await self.session.scalar(stmt) or 0)

    async def consume(self, owner_id: str, period: str, limit: int | None) -> tuple[bool, int]:
        """Count one query unless `limit` is reached (None: no limit, but still counted):
        (counted, queries used now).

        The check and the increment are one conditional UPDATE, so concurrent requests
        on any number of replicas can never count past the limit. The period's first
        query inserts the row; a concurrent first insert makes us retry the UPDATE.
        """
        for _ in range(3):
            within = UsageQuota.used < limit if limit is not None else true()
            stmt = (
                update(UsageQuota)
                .where(UsageQuota.user_id == owner_id, UsageQuota.period == period, within)
                .values(used=UsageQuota.used + 1)
                .returning(UsageQuota.used)
                .execution_options(synchronize_session=False)
            )
            counted = (await self.session.execute(stmt)).scalar_one_or_none()
            if counted is not None:
                return True, int(counted)
            existing = await self.session.scalar(
                select(UsageQuota.used).where(
                    UsageQuota.user_id == owner_id, UsageQuota.period == period
                )
            )
            if existing is not None or (limit is not None and limit <= 0):
                return False, int(existing or 0)
            try:
                async with self.session.begin_nested():
                    self.session.add(UsageQuota(user_id=owner_id, period=period, used=1))
                return True, 1
            except IntegrityError:
                continue  # another request inserted the row first: count against it
        raise RuntimeError("could not count a query against the quota")


class QueryLogRepository:
    """Logged analysis requests."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, log: QueryLog) -> QueryLog:
        """Insert a log row and flush (its integer id is known afterwards)."""
        self.session.add(log)
        await self.session.flush()
        return log

    async def get(self, owner_id: str, log_id: int) -> QueryLog | None:
        """The owner's log row with this id."""
        stmt = select(QueryLog).where(QueryLog.id == log_id, QueryLog.user_id == owner_id)
        return await self.session.scalar(stmt)

    async def for_job(self, owner_id: str, job_id: str) -> QueryLog | None:
        """The owner's log row of an async analysis job."""
        stmt = (
            select(QueryLog)
            .where(QueryLog.job_id == job_id, QueryLog.user_id == owner_id)
            .order_by(QueryLog.id)
            .limit(1)
        )
        return await self.session.scalar(stmt)

    async def newest(self, owner_id: str, limit: int) -> Sequence[QueryLog]:
        """The owner's log rows, newest first."""
        stmt = (
            select(QueryLog)
            .where(QueryLog.user_id == owner_id)
            .order_by(QueryLog.created_at.desc(), QueryLog.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()


class SubscriberRepository:
    """What quotas and log access need of the users table: tiers and quota overrides, and
    ids by id or email.

    Read here rather than through the accounts service, which the workflow's own units
    of work cannot build (it needs the token signer); see docs/faces/pluginmind.md,
    "Deviations from the architecture".
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subscriber(self, user_id: str) -> Subscriber | None:
        """What decides the user's quota, or None when there is no such user."""
        stmt = select(User.subscription_tier, User.is_owner, User.monthly_quota).where(
            User.id == user_id
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else Subscriber(str(row[0]), bool(row[1]), row[2])

    async def existing_id(self, user_id: str) -> str | None:
        """`user_id` when such a user exists."""
        found = await self.session.scalar(select(User.id).where(User.id == user_id))
        return None if found is None else str(found)

    async def id_by_email(self, email: str) -> str | None:
        """The id of the user with this (stored-form) email."""
        found = await self.session.scalar(select(User.id).where(User.email == email))
        return None if found is None else str(found)
