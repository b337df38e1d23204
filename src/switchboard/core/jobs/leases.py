"""The runner's side of the job row: claims, leases and finishing, across all owners.

Every write here is one conditional UPDATE, so that two processes racing for the same
job (a redelivered message, two sweepers, a worker that lost its lease) never both win:
the row is the truth and the condition is the lock. The statements use RETURNING, which
SQLite (3.35+) and PostgreSQL both support.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from switchboard.core.jobs.context import UnitOfWorkFactory
from switchboard.core.jobs.schedule import next_run
from switchboard.core.jobs.schemas import JobRead, JobStatus
from switchboard.kit.clock import utcnow
from switchboard.models import Job, JobSchedule

RUNNING = JobStatus.RUNNING.value
PENDING = JobStatus.PENDING.value


@dataclass(frozen=True, slots=True)
class LeaseState:
    """What a lease renewal learns: the lease is still ours, and whether to stop."""

    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class Finish:
    """One job to finish: its claim, the final status and the columns to set."""

    job_id: str
    owner: str
    status: JobStatus
    values: dict[str, Any] = field(default_factory=dict)


def completion(
    job_id: str, owner: str, result: dict[str, Any], actual_cost: float | None
) -> Finish:
    """Finishing as completed with `result` (and the cost it reported, if any)."""
    values: dict[str, Any] = {"result": result, "progress": 1.0, "error": None}
    if actual_cost is not None:
        values["actual_cost"] = actual_cost
    values["error_code"] = None
    return Finish(job_id, owner, JobStatus.COMPLETED, values)


def failure(job_id: str, owner: str, message: str, code: str) -> Finish:
    """Finishing as failed with a user-safe message and a stable code."""
    return Finish(job_id, owner, JobStatus.FAILED, {"error": message, "error_code": code})


@dataclass(frozen=True, slots=True)
class Reaped:
    """A running job whose lease lapsed, and what became of it."""

    job: JobRead
    requeued: bool


@dataclass(frozen=True, slots=True)
class ScheduleDue:
    """A recurring schedule whose moment has come."""

    id: str
    type: str
    next_run_at: datetime


class JobLeases:
    """Unscoped operations on `jobs` and `job_schedules` for runners and sweepers."""

    def __init__(self, units: UnitOfWorkFactory) -> None:
        self._units = units

    # -- one job's life ------------------------------------------------------------------
    async def claim(self, job_id: str, owner: str, lease_seconds: float) -> JobRead | None:
        """Take the job for `owner` if it may run now; None when someone else has it.

        A pending job that is due and not cancelled can be claimed, and so can a running
        job whose lease lapsed (its worker died) while it still has attempts left.
        """
        claimed = await self.claim_many([job_id], owner, lease_seconds)
        return claimed.get(job_id)

    async def claim_many(
        self, job_ids: Sequence[str], owner: str, lease_seconds: float
    ) -> dict[str, JobRead]:
        """`claim` for several jobs in one statement (a runner's deliveries of one
        moment); the claimed ones by id. Each job is claimed at most once, so callers
        give every id once."""
        now = utcnow()
        claimable = or_(
            and_(
                Job.status == PENDING,
                Job.cancel_requested.is_(False),
                or_(Job.run_at.is_(None), Job.run_at <= now),
            ),
            and_(
                Job.status == RUNNING,
                Job.lease_expires_at < now,
                Job.cancel_requested.is_(False),
                Job.attempts < Job.max_attempts,
            ),
        )
        async with self._units() as uow:
            rows = await uow.session.scalars(
                update(Job)
                .where(Job.id.in_(list(job_ids)), claimable)
                .values(
                    status=RUNNING,
                    attempts=Job.attempts + 1,
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    started_at=now,
                    finished_at=None,
                )
                .returning(Job)
                .execution_options(synchronize_session=False)
            )
            return {row.id: JobRead.model_validate(row) for row in rows}

    async def renew(self, job_id: str, owner: str, lease_seconds: float) -> LeaseState | None:
        """Extend the lease; None when the job is no longer ours to run."""
        expires = utcnow() + timedelta(seconds=lease_seconds)
        async with self._units() as uow:
            flag = await uow.session.scalar(
                update(Job)
                .where(self._held(job_id, owner))
                .values(lease_expires_at=expires)
                .returning(Job.cancel_requested)
                .execution_options(synchronize_session=False)
            )
        return None if flag is None else LeaseState(cancel_requested=bool(flag))

    async def progress(
        self, job_id: str, owner: str, fraction: float, message: str | None
    ) -> JobRead | None:
        """Record progress while the job is ours."""
        return await self._update_one(
            self._held(job_id, owner), progress=fraction, progress_message=message
        )

    async def complete(
        self, job_id: str, owner: str, result: dict[str, Any], actual_cost: float | None
    ) -> JobRead | None:
        """Finish as completed, unless the job stopped being ours (no double completion)."""
        return (await self.finish_many([completion(job_id, owner, result, actual_cost)]))[0]

    async def fail(self, job_id: str, owner: str, message: str, code: str) -> JobRead | None:
        """Finish as failed with a user-safe message and a stable code."""
        return (await self.finish_many([failure(job_id, owner, message, code)]))[0]

    async def cancelled(self, job_id: str, owner: str) -> JobRead | None:
        """Finish as cancelled (the owner asked)."""
        return (await self.finish_many([Finish(job_id, owner, JobStatus.CANCELLED)]))[0]

    async def finish_many(self, items: Sequence[Finish]) -> list[JobRead | None]:
        """Several finishes in one transaction, each its own conditional UPDATE (only
        while the job is still ours); None for each job that stopped being ours."""
        now = utcnow()
        finished: list[JobRead | None] = []
        async with self._units() as uow:
            for item in items:
                row = await uow.session.scalar(
                    update(Job)
                    .where(self._held(item.job_id, item.owner))
                    .values(
                        status=item.status.value,
                        finished_at=now,
                        lease_owner=None,
                        lease_expires_at=None,
                        **item.values,
                    )
                    .returning(Job)
                    .execution_options(synchronize_session=False)
                )
                finished.append(JobRead.model_validate(row) if row is not None else None)
        return finished

    async def retry_later(
        self, job_id: str, owner: str, run_at: datetime, message: str, code: str
    ) -> JobRead | None:
        """Back to pending until `run_at`, keeping the last error for the owner to see."""
        return await self._update_one(
            self._held(job_id, owner),
            status=PENDING,
            run_at=run_at,
            error=message,
            error_code=code,
            lease_owner=None,
            lease_expires_at=None,
        )

    async def release(self, job_id: str, owner: str) -> JobRead | None:
        """Give the job back untouched (this process is shutting down): pending, the
        attempt not counted, ready for another worker at once."""
        return await self._update_one(
            self._held(job_id, owner),
            status=PENDING,
            attempts=Job.attempts - 1,
            lease_owner=None,
            lease_expires_at=None,
            started_at=None,
        )

    # -- sweeping ------------------------------------------------------------------------
    async def stale_pending(self, older_than: float, limit: int) -> list[str]:
        """Pending jobs due for `older_than` seconds without having started: their
        message was lost (a restart, Redis down). Marked so the next sweep waits again."""
        now = utcnow()
        cutoff = now - timedelta(seconds=older_than)
        async with self._units() as uow:
            ids = list(
                await uow.session.scalars(
                    select(Job.id)
                    .where(
                        Job.status == PENDING,
                        Job.cancel_requested.is_(False),
                        Job.updated_at <= cutoff,
                        or_(Job.run_at.is_(None), Job.run_at <= cutoff),
                    )
                    .order_by(Job.updated_at)
                    .limit(limit)
                )
            )
            if ids:
                await uow.session.execute(
                    update(Job)
                    .where(Job.id.in_(ids), Job.status == PENDING)
                    .values(updated_at=now)
                    .execution_options(synchronize_session=False)
                )
        return ids

    async def pending_ids(self, limit: int) -> list[tuple[str, datetime | None]]:
        """Every pending job (start-up recovery), with the moment it is due."""
        async with self._units() as uow:
            rows = await uow.session.execute(
                select(Job.id, Job.run_at)
                .where(Job.status == PENDING, Job.cancel_requested.is_(False))
                .order_by(Job.created_at)
                .limit(limit)
            )
            return [(row[0], row[1]) for row in rows]

    async def reap(self, limit: int) -> list[Reaped]:
        """Running jobs whose lease lapsed: cancelled if asked, failed when out of
        attempts, otherwise back to pending for another worker."""
        now = utcnow()
        async with self._units() as uow:
            ids = list(
                await uow.session.scalars(
                    select(Job.id)
                    .where(Job.status == RUNNING, Job.lease_expires_at < now)
                    .limit(limit)
                )
            )
        reaped: list[Reaped] = []
        for job_id in ids:
            outcome = await self._reap_one(job_id, now)
            if outcome is not None:
                reaped.append(outcome)
        return reaped

    async def count_by_status(self) -> dict[str, int]:
        """How many jobs are in each status."""
        async with self._units() as uow:
            rows = await uow.session.execute(select(Job.status, func.count()).group_by(Job.status))
            return {str(status): int(count) for status, count in rows}

    # -- schedules -----------------------------------------------------------------------
    async def due_schedules(self, limit: int) -> list[ScheduleDue]:
        """Enabled schedules whose next run is now or past."""
        async with self._units() as uow:
            rows = await uow.session.execute(
                select(JobSchedule.id, JobSchedule.type, JobSchedule.next_run_at)
                .where(JobSchedule.enabled.is_(True), JobSchedule.next_run_at <= utcnow())
                .order_by(JobSchedule.next_run_at)
                .limit(limit)
            )
            return [ScheduleDue(row[0], row[1], row[2]) for row in rows]

    async def fire_schedule(self, due: ScheduleDue, max_attempts: int | None) -> JobRead | None:
        """Advance the schedule and create its job, in one transaction; None when another
        sweeper advanced it first (so a schedule fires once across replicas)."""
        async with self._units() as uow:
            schedule = await uow.session.get(JobSchedule, due.id)
            if schedule is None:
                return None
            now = utcnow()
            following = next_run(schedule.cron, schedule.timezone, max(now, due.next_run_at))
            won = await uow.session.scalar(
                update(JobSchedule)
                .where(JobSchedule.id == due.id, JobSchedule.next_run_at == due.next_run_at)
                .values(next_run_at=following, last_run_at=now)
                .returning(JobSchedule.id)
                .execution_options(synchronize_session=False)
            )
            if won is None:
                return None
            job = Job(
                user_id=schedule.user_id,
                type=schedule.type,
                status=PENDING,
                params=dict(schedule.params),
                schedule_id=schedule.id,
                source=schedule.source,
            )
            if max_attempts is not None:
                job.max_attempts = max_attempts
            uow.session.add(job)
            await uow.session.flush()
            return JobRead.model_validate(job)

    async def skip_schedule(self, due: ScheduleDue) -> None:
        """Move a schedule past a run it cannot make (its type is gone)."""
        async with self._units() as uow:
            schedule = await uow.session.get(JobSchedule, due.id)
            if schedule is None:
                return
            following = next_run(schedule.cron, schedule.timezone, utcnow())
            await uow.session.execute(
                update(JobSchedule)
                .where(JobSchedule.id == due.id, JobSchedule.next_run_at == due.next_run_at)
                .values(next_run_at=following)
                .execution_options(synchronize_session=False)
            )

    # -- internals -----------------------------------------------------------------------
    @staticmethod
    def _held(job_id: str, owner: str) -> ColumnElement[bool]:
        return and_(Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner)

    async def _reap_one(self, job_id: str, now: datetime) -> Reaped | None:
        lapsed = and_(Job.id == job_id, Job.status == RUNNING, Job.lease_expires_at < now)
        cleared: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
        job = await self._update_one(
            and_(lapsed, Job.cancel_requested.is_(True)),
            status=JobStatus.CANCELLED.value,
            finished_at=now,
            **cleared,
        )
        if job is not None:
            return Reaped(job, requeued=False)
        job = await self._update_one(
            and_(lapsed, Job.attempts >= Job.max_attempts),
            status=JobStatus.FAILED.value,
            finished_at=now,
            error="The worker running this job stopped before it finished",
            error_code="worker_lost",
            **cleared,
        )
        if job is not None:
            return Reaped(job, requeued=False)
        job = await self._update_one(lapsed, status=PENDING, run_at=None, **cleared)
        return Reaped(job, requeued=True) if job is not None else None

    async def _update_one(self, where: ColumnElement[bool], **values: Any) -> JobRead | None:
        async with self._units() as uow:
            row = await uow.session.scalar(
                update(Job)
                .where(where)
                .values(**values)
                .returning(Job)
                .execution_options(synchronize_session=False)
            )
            return JobRead.model_validate(row) if row is not None else None
