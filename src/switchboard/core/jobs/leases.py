"""The runner's side of the job row: claims, leases and finishing, across all owners.

Every write here is one conditional UPDATE, so that two processes racing for the same
job (a redelivered message, two sweepers, a worker that lost its lease) never both win:
the row is the truth and the condition is the lock. The statements use RETURNING, which
SQLite (3.35+) and PostgreSQL both support.

They are Core statements on the `jobs` table returning the columns a `JobRead` needs,
not ORM updates returning entities: the runner issues them for every job, and loading
ORM rows it never keeps cost more than the statements' round trips.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, func, literal, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.jobs.context import UnitOfWorkFactory
from switchboard.core.jobs.schedule import next_run
from switchboard.core.jobs.schemas import JobRead, JobStatus
from switchboard.kit.clock import Clock, as_utc, utcnow
from switchboard.models import Job, JobSchedule

RUNNING = JobStatus.RUNNING.value
PENDING = JobStatus.PENDING.value

JOBS = cast(Table, Job.__table__)
# What every write returns: the columns of a `JobRead`.
READ_COLUMNS = tuple(JOBS.c[name] for name in JobRead.model_fields)


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

    def __init__(self, units: UnitOfWorkFactory, clock: Clock = utcnow) -> None:
        self._units = units
        self.clock = clock

    @asynccontextmanager
    async def _statement(self) -> AsyncIterator[AsyncSession]:
        """A session for one statement that commits by itself (autocommit).

        Each write here is a single conditional UPDATE, atomic on its own, so it needs
        no transaction around it: no BEGIN and no COMMIT, one round trip instead of
        three. (The isolation level goes back to the default when the connection
        returns to the pool.)
        """
        async with self._units() as uow:
            await uow.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield uow.session

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
        now = self.clock()
        claimable = or_(
            and_(
                JOBS.c.status == PENDING,
                JOBS.c.cancel_requested.is_(False),
                or_(JOBS.c.run_at.is_(None), JOBS.c.run_at <= now),
            ),
            and_(
                JOBS.c.status == RUNNING,
                JOBS.c.lease_expires_at < now,
                JOBS.c.cancel_requested.is_(False),
                JOBS.c.attempts < JOBS.c.max_attempts,
            ),
        )
        async with self._statement() as session:
            result = await session.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(list(job_ids)), claimable)
                .values(
                    status=RUNNING,
                    attempts=JOBS.c.attempts + 1,
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    started_at=now,
                    finished_at=None,
                )
                .returning(*READ_COLUMNS)
            )
            jobs = [_read(row) for row in result.mappings()]
        return {job.id: job for job in jobs}

    async def renew(self, job_id: str, owner: str, lease_seconds: float) -> LeaseState | None:
        """Extend the lease; None when the job is no longer ours to run."""
        expires = self.clock() + timedelta(seconds=lease_seconds)
        async with self._statement() as session:
            flag = await session.scalar(
                update(JOBS)
                .where(self._held(job_id, owner))
                .values(lease_expires_at=expires)
                .returning(JOBS.c.cancel_requested)
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
        """Several finishes in one conditional UPDATE (each row only while the job is
        still ours, under the claim named in its item); None for each job that stopped
        being ours. A job named twice is finished by the first item that holds it (in
        a second statement: each finish stands alone, none needs another's)."""
        finished: dict[int, JobRead] = {}
        async with self._statement() as session:
            for rounds in _rounds(items):
                statement = _finish_statement([items[i] for i in rounds], self.clock())
                result = await session.execute(statement)
                by_id = {job.id: job for job in map(_read, result.mappings())}
                for i in rounds:
                    job = by_id.get(items[i].job_id)
                    if job is not None:
                        finished[i] = job
        return [finished.get(i) for i in range(len(items))]

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
            attempts=JOBS.c.attempts - 1,
            lease_owner=None,
            lease_expires_at=None,
            started_at=None,
        )

    async def read(self, job_id: str) -> JobRead | None:
        """The job as it is now (a runner whose write was refused asks why)."""
        async with self._units() as uow:
            result = await uow.session.execute(select(*READ_COLUMNS).where(JOBS.c.id == job_id))
            row = result.mappings().first()
        return _read(row) if row is not None else None

    # -- sweeping ------------------------------------------------------------------------
    async def stale_pending(self, older_than: float, limit: int) -> list[str]:
        """Pending jobs due for `older_than` seconds without having started: their
        message was lost (a restart, Redis down). Marked so the next sweep waits again."""
        now = self.clock()
        cutoff = now - timedelta(seconds=older_than)
        async with self._units() as uow:
            ids = list(
                await uow.session.scalars(
                    select(JOBS.c.id)
                    .where(
                        JOBS.c.status == PENDING,
                        JOBS.c.cancel_requested.is_(False),
                        JOBS.c.updated_at <= cutoff,
                        or_(JOBS.c.run_at.is_(None), JOBS.c.run_at <= cutoff),
                    )
                    .order_by(JOBS.c.updated_at)
                    .limit(limit)
                )
            )
            if ids:
                await uow.session.execute(
                    update(JOBS)
                    .where(JOBS.c.id.in_(ids), JOBS.c.status == PENDING)
                    .values(updated_at=now)
                )
        return ids

    async def pending_ids(self, limit: int) -> list[tuple[str, datetime | None]]:
        """Every pending job (start-up recovery), with the moment it is due."""
        async with self._units() as uow:
            rows = await uow.session.execute(
                select(JOBS.c.id, JOBS.c.run_at)
                .where(JOBS.c.status == PENDING, JOBS.c.cancel_requested.is_(False))
                .order_by(JOBS.c.created_at)
                .limit(limit)
            )
            return [(row[0], row[1]) for row in rows]

    async def reap(self, limit: int) -> list[Reaped]:
        """Running jobs whose lease lapsed: cancelled if asked, failed when out of
        attempts, otherwise back to pending for another worker."""
        now = self.clock()
        async with self._units() as uow:
            ids = list(
                await uow.session.scalars(
                    select(JOBS.c.id)
                    .where(JOBS.c.status == RUNNING, JOBS.c.lease_expires_at < now)
                    .limit(limit)
                )
            )
        reaped: list[Reaped] = []
        for job_id in ids:
            outcome = await self._reap_one(job_id, now)
            if outcome is not None:
                reaped.append(outcome)
        return reaped

    async def oldest_waiting(self) -> datetime | None:
        """Since when the longest-waiting job has been due without starting (its
        `run_at`, or its creation), or None when no job waits."""
        now = self.clock()
        async with self._units() as uow:
            since = await uow.session.scalar(
                select(func.min(func.coalesce(JOBS.c.run_at, JOBS.c.created_at))).where(
                    JOBS.c.status == PENDING,
                    JOBS.c.cancel_requested.is_(False),
                    or_(JOBS.c.run_at.is_(None), JOBS.c.run_at <= now),
                )
            )
        return as_utc(since) if since is not None else None

    async def count_by_status(self) -> dict[str, int]:
        """How many jobs are in each status."""
        async with self._units() as uow:
            rows = await uow.session.execute(
                select(JOBS.c.status, func.count()).group_by(JOBS.c.status)
            )
            return {str(status): int(count) for status, count in rows}

    # -- schedules -----------------------------------------------------------------------
    async def due_schedules(self, limit: int) -> list[ScheduleDue]:
        """Enabled schedules whose next run is now or past."""
        async with self._units() as uow:
            rows = await uow.session.execute(
                select(JobSchedule.id, JobSchedule.type, JobSchedule.next_run_at)
                .where(JobSchedule.enabled.is_(True), JobSchedule.next_run_at <= self.clock())
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
            now = self.clock()
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
            following = next_run(schedule.cron, schedule.timezone, self.clock())
            await uow.session.execute(
                update(JobSchedule)
                .where(JobSchedule.id == due.id, JobSchedule.next_run_at == due.next_run_at)
                .values(next_run_at=following)
                .execution_options(synchronize_session=False)
            )

    # -- internals -----------------------------------------------------------------------
    @staticmethod
    def _held(job_id: str, owner: str) -> ColumnElement[bool]:
        return and_(JOBS.c.id == job_id, JOBS.c.status == RUNNING, JOBS.c.lease_owner == owner)

    async def _reap_one(self, job_id: str, now: datetime) -> Reaped | None:
        lapsed = and_(JOBS.c.id == job_id, JOBS.c.status == RUNNING, JOBS.c.lease_expires_at < now)
        cleared: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
        job = await self._update_one(
            and_(lapsed, JOBS.c.cancel_requested.is_(True)),
            status=JobStatus.CANCELLED.value,
            finished_at=now,
            **cleared,
        )
        if job is not None:
            return Reaped(job, requeued=False)
        job = await self._update_one(
            and_(lapsed, JOBS.c.attempts >= JOBS.c.max_attempts),
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
        async with self._statement() as session:
            result = await session.execute(
                update(JOBS).where(where).values(**values).returning(*READ_COLUMNS)
            )
            row = result.mappings().first()
        return _read(row) if row is not None else None


def _read(row: RowMapping) -> JobRead:
    return JobRead.model_validate(dict(row))


def _rounds(items: Sequence[Finish]) -> list[list[int]]:
    """Positions of `items` split so that no job appears twice in one statement (a job
    is named twice only when a lapsed lease let this process claim it again)."""
    rounds: list[list[int]] = []
    seen: list[set[str]] = []
    for i, item in enumerate(items):
        for n, ids in enumerate(seen):
            if item.job_id not in ids:
                ids.add(item.job_id)
                rounds[n].append(i)
                break
        else:
            seen.append({item.job_id})
            rounds.append([i])
    return rounds


def _finish_statement(items: Sequence[Finish], now: datetime) -> Any:
    """One UPDATE finishing every item (each job once): a column that all items set
    alike is set plainly, one that differs is a CASE on the job's id, and so is the
    claim each row must still be under."""
    ids = [item.job_id for item in items]
    owners = {item.job_id: item.owner for item in items}
    rows: list[dict[str, Any]] = [{"status": item.status.value, **item.values} for item in items]
    names = list(dict.fromkeys(name for row in rows for name in row))
    values: dict[str, Any] = {
        "finished_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    for name in names:
        column = JOBS.c[name]
        given = [row.get(name, _KEEP) for row in rows]
        first = given[0]
        if first is not _KEEP and all(_same(value, first) for value in given):
            values[name] = first
            continue
        values[name] = case(
            {
                job_id: literal(value, column.type)
                for job_id, value in zip(ids, given, strict=True)
                if value is not _KEEP
            },
            value=JOBS.c.id,
            else_=column,
        )
    distinct_owners = set(owners.values())
    held_by: ColumnElement[bool]
    if len(distinct_owners) == 1:
        held_by = JOBS.c.lease_owner == distinct_owners.pop()
    else:
        held_by = JOBS.c.lease_owner == case(owners, value=JOBS.c.id)
    return (
        update(JOBS)
        .where(JOBS.c.id.in_(ids), JOBS.c.status == RUNNING, held_by)
        .values(**values)
        .returning(*READ_COLUMNS)
    )


_KEEP: Any = object()


def _same(value: Any, first: Any) -> bool:
    return value is not _KEEP and type(value) is type(first) and value == first
