"""Job rows and schedules, looked up within their owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.jobs.schemas import JobStatus
from switchboard.models import Job, JobSchedule

LIVE = (JobStatus.PENDING.value, JobStatus.RUNNING.value)


class JobRepository:
    """Owner-scoped access to `jobs` (the runner's unscoped claims live in leases.py)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, owner_id: str, job_id: str) -> Job | None:
        """The job, if `owner_id` owns it."""
        return await self._session.scalar(
            select(Job).where(Job.id == job_id, Job.user_id == owner_id)
        )

    async def owner_of(self, job_id: str) -> str | None:
        """Who owns the job (for topic authorization); None when there is no such job."""
        return await self._session.scalar(select(Job.user_id).where(Job.id == job_id))

    async def by_idempotency_key(self, owner_id: str, key: str) -> Job | None:
        """The owner's job created with `key`, if any."""
        return await self._session.scalar(
            select(Job).where(Job.user_id == owner_id, Job.idempotency_key == key)
        )

    async def page(
        self,
        owner_id: str,
        *,
        status: str | None,
        type: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Job], int]:
        """The owner's jobs, newest first, with optional filters, and the total."""
        where = [Job.user_id == owner_id]
        if status is not None:
            where.append(Job.status == status)
        if type is not None:
            where.append(Job.type == type)
        total = await self._session.scalar(select(func.count()).select_from(Job).where(*where))
        rows = await self._session.scalars(
            select(Job)
            .where(*where)
            .order_by(Job.created_at.desc(), Job.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows), int(total or 0)

    async def cancel(self, owner_id: str, job_id: str, now: datetime) -> Job | None:
        """Make the owner's pending or running job `cancelled`, in one conditional UPDATE;
        None when it was no longer live. Its runner's claim ends with it: every runner
        write requires the job to be running under that claim."""
        cancelled: Job | None = await self._session.scalar(
            update(Job)
            .where(Job.id == job_id, Job.user_id == owner_id, Job.status.in_(LIVE))
            .values(
                status=JobStatus.CANCELLED.value,
                finished_at=now,
                cancel_requested=True,
                lease_owner=None,
                lease_expires_at=None,
            )
            .returning(Job)
            .execution_options(synchronize_session="fetch")
        )
        return cancelled

    async def count_queued(self, owner_id: str) -> int:
        """How many of the owner's jobs are pending or running."""
        total = await self._session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.user_id == owner_id, Job.status.in_(LIVE))
        )
        return int(total or 0)

    async def refresh(self, job: Job) -> None:
        """Read the job's row again (another process may have changed it)."""
        await self._session.refresh(job)

    def add(self, job: Job) -> None:
        """Stage a new job."""
        self._session.add(job)

    async def delete(self, job: Job) -> None:
        """Delete a job row."""
        await self._session.delete(job)

    async def flush(self) -> None:
        """Write staged changes so that defaults are filled in."""
        await self._session.flush()


class ScheduleRepository:
    """Owner-scoped access to `job_schedules`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, owner_id: str, schedule_id: str) -> JobSchedule | None:
        """The schedule, if `owner_id` owns it."""
        return await self._session.scalar(
            select(JobSchedule).where(
                JobSchedule.id == schedule_id, JobSchedule.user_id == owner_id
            )
        )

    async def for_owner(self, owner_id: str) -> list[JobSchedule]:
        """The owner's schedules."""
        rows = await self._session.scalars(
            select(JobSchedule)
            .where(JobSchedule.user_id == owner_id)
            .order_by(JobSchedule.created_at)
        )
        return list(rows)

    async def count(self, owner_id: str) -> int:
        """How many schedules the owner has."""
        total = await self._session.scalar(
            select(func.count()).select_from(JobSchedule).where(JobSchedule.user_id == owner_id)
        )
        return int(total or 0)

    def add(self, schedule: JobSchedule) -> None:
        """Stage a new schedule."""
        self._session.add(schedule)

    async def delete(self, schedule: JobSchedule) -> None:
        """Delete a schedule."""
        await self._session.delete(schedule)

    async def flush(self) -> None:
        """Write staged changes."""
        await self._session.flush()
