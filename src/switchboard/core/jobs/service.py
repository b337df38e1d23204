"""Creating, reading, cancelling and retrying jobs, inside the caller's unit of work.

Jobs are enqueued and announced only after the creating transaction commits, so a
worker never sees a job id whose row is not there yet, and a rolled-back request leaves
no job behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from switchboard.core.errors import SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event, task_topic
from switchboard.core.jobs.errors import (
    JobNotFound,
    JobStateConflict,
    ScheduleNotFound,
    TooManyQueuedJobs,
    TooManySchedules,
)
from switchboard.core.jobs.events import CANCEL_REQUESTED, publish_job_event
from switchboard.core.jobs.ports import JobOutputs, JobQueue
from switchboard.core.jobs.registry import JobRegistry
from switchboard.core.jobs.repository import JobRepository, ScheduleRepository
from switchboard.core.jobs.schedule import next_run
from switchboard.core.jobs.schemas import (
    JobCreate,
    JobRead,
    JobRequest,
    JobStatus,
    ScheduleCreate,
    ScheduleRead,
)
from switchboard.kit.clock import Clock, utcnow
from switchboard.kit.db import UnitOfWork
from switchboard.kit.ids import canonical_id
from switchboard.kit.pagination import Page, clamp_offset
from switchboard.models import Job, JobSchedule

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class JobSetup:
    """The long-lived parts the jobs domain works with."""

    registry: JobRegistry
    queue: JobQueue
    bus: EventBus
    clock: Clock = utcnow
    # Caps on one user's work; 0 turns a cap off.
    max_queued_per_user: int = 0
    max_schedules_per_user: int = 0


# When a user at the queued-jobs cap may try again: long enough for a job to finish.
QUEUED_RETRY_AFTER_SECONDS = 5.0


class JobService:
    """A user's jobs and schedules."""

    def __init__(
        self, uow: UnitOfWork, setup: JobSetup, outputs: Sequence[JobOutputs] = ()
    ) -> None:
        self._uow = uow
        self._setup = setup
        self._outputs = outputs
        self._jobs = JobRepository(uow.session)
        self._schedules = ScheduleRepository(uow.session)

    async def request(self, owner_id: str, data: JobRequest, *, source: str) -> JobRead:
        """Create a job a client asked for by type: only public types, from `params` alone."""
        self._setup.registry.public(data.type)
        return await self.create(
            owner_id,
            JobCreate(
                type=data.type,
                params=data.params,
                idempotency_key=data.idempotency_key,
                run_at=data.run_at,
                source=source,
            ),
        )

    async def create(self, owner_id: str, data: JobCreate) -> JobRead:
        """Create a job; it is queued once the caller's unit of work commits.

        With an idempotency key, asking again returns the job created the first time.
        A user with `max_queued_per_user` jobs pending or running gets `TooManyQueuedJobs`.
        """
        if data.idempotency_key:
            existing = await self._jobs.by_idempotency_key(owner_id, data.idempotency_key)
            if existing is not None:
                return JobRead.model_validate(existing)
        await self._check_queued_cap(owner_id)
        job_type = self._setup.registry.get(data.type)
        params = self._setup.registry.validate(data.type, data.params)
        job = Job(
            user_id=owner_id,
            type=data.type,
            status=JobStatus.PENDING.value,
            params=params.model_dump(mode="json"),
            max_attempts=data.max_attempts or job_type.max_attempts,
            estimated_cost=data.estimated_cost,
            idempotency_key=data.idempotency_key,
            run_at=data.run_at,
            source=data.source,
        )
        self._jobs.add(job)
        await self._jobs.flush()
        created = JobRead.model_validate(job)
        self._after_commit_enqueue(created)
        self._after_commit_announce(created, "created")
        return created

    async def get(self, owner_id: str, job_id: str) -> JobRead:
        """One of the user's jobs; 404 for anyone else's."""
        return JobRead.model_validate(await self._require(owner_id, job_id))

    async def list_jobs(
        self,
        owner_id: str,
        *,
        status: JobStatus | None = None,
        type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[JobRead]:
        """The user's jobs, newest first."""
        rows, total = await self._jobs.page(
            owner_id,
            status=status.value if status else None,
            type=type,
            limit=min(max(limit, 1), MAX_PAGE),
            offset=clamp_offset(offset),
        )
        return Page([JobRead.model_validate(r) for r in rows], total=total)

    async def cancel(self, owner_id: str, job_id: str) -> JobRead:
        """Cancel a pending or running job: it reads `cancelled` as soon as the caller's
        unit of work commits.

        A running job's process is then told to stop its handler (over the bus, and
        through the row at its next lease renewal). Its runner writes only while the job
        is running under its claim, so nothing it does afterwards replaces `cancelled`.
        """
        job = await self._require(owner_id, job_id)
        was_running = job.status == JobStatus.RUNNING.value
        if not JobStatus(job.status).finished:
            cancelled = await self._jobs.cancel(owner_id, job.id, self._setup.clock())
            if cancelled is not None:
                read = JobRead.model_validate(cancelled)
                self._after_commit_announce(read, "cancelled")
                if was_running:
                    self._after_commit_stop(read)
                return read
            # It finished between our read and our update.
            await self._jobs.refresh(job)
        raise JobStateConflict(f"Job is already {job.status}")

    async def retry(self, owner_id: str, job_id: str) -> JobRead:
        """Run a failed job again from the start, with a fresh attempt budget."""
        job = await self._require(owner_id, job_id)
        if job.status != JobStatus.FAILED.value:
            raise JobStateConflict("Only failed jobs can be retried")
        job.status = JobStatus.PENDING.value
        job.attempts = 0
        job.error = None
        job.error_code = None
        job.progress = 0.0
        job.progress_message = None
        job.result = None
        job.run_at = None
        job.started_at = None
        job.finished_at = None
        job.cancel_requested = False
        await self._jobs.flush()
        read = JobRead.model_validate(job)
        self._after_commit_enqueue(read)
        self._after_commit_announce(read, "created")
        return read

    async def delete(self, owner_id: str, job_id: str) -> None:
        """Delete a finished job and what it produced (cancel a live one first)."""
        job = await self._require(owner_id, job_id)
        if not JobStatus(job.status).finished:
            raise JobStateConflict("Cancel the job before deleting it")
        for outputs in self._outputs:
            await outputs.remove_for_job(owner_id, job.id)
        await self._jobs.delete(job)

    # -- schedules -----------------------------------------------------------------------
    async def create_schedule(
        self, owner_id: str, data: ScheduleCreate, *, source: str | None = None
    ) -> ScheduleRead:
        """A recurring job of a public type; its first run is the next moment its cron
        expression names. `TooManySchedules` beyond `max_schedules_per_user`."""
        self._setup.registry.public(data.type)
        params = self._setup.registry.validate(data.type, data.params)
        cap = self._setup.max_schedules_per_user
        if cap and await self._schedules.count(owner_id) >= cap:
            raise TooManySchedules(f"You have {cap} schedules, the most allowed; delete one first")
        schedule = JobSchedule(
            user_id=owner_id,
            type=data.type,
            params=params.model_dump(mode="json"),
            cron=data.cron,
            timezone=data.timezone,
            next_run_at=next_run(data.cron, data.timezone, self._setup.clock()),
            name=data.name,
            source=source,
        )
        self._schedules.add(schedule)
        await self._schedules.flush()
        return ScheduleRead.model_validate(schedule)

    async def list_schedules(self, owner_id: str) -> list[ScheduleRead]:
        """The user's recurring jobs."""
        return [ScheduleRead.model_validate(s) for s in await self._schedules.for_owner(owner_id)]

    async def delete_schedule(self, owner_id: str, schedule_id: str) -> None:
        """Stop a recurring job (jobs it already created are unaffected)."""
        key = canonical_id(schedule_id)
        schedule = await self._schedules.get(owner_id, key) if key else None
        if schedule is None:
            raise ScheduleNotFound()
        await self._schedules.delete(schedule)

    # -- internals -----------------------------------------------------------------------
    async def _check_queued_cap(self, owner_id: str) -> None:
        # Counted, then inserted: concurrent requests may pass the cap by a few, which a
        # cap against runaway clients tolerates.
        cap = self._setup.max_queued_per_user
        if cap and await self._jobs.count_queued(owner_id) >= cap:
            raise TooManyQueuedJobs(
                f"You have {cap} jobs waiting or running, the most allowed; try again later",
                retry_after=QUEUED_RETRY_AFTER_SECONDS,
            )

    async def _require(self, owner_id: str, job_id: str) -> Job:
        key = canonical_id(job_id)
        job = await self._jobs.get(owner_id, key) if key else None
        if job is None:
            raise JobNotFound()
        return job

    def _after_commit_enqueue(self, job: JobRead) -> None:
        queue = self._setup.queue
        delay = 0.0
        if job.run_at is not None:
            delay = max((job.run_at - self._setup.clock()).total_seconds(), 0.0)

        async def enqueue() -> None:
            await queue.enqueue(job.id, delay=delay)

        self._uow.after_commit(enqueue)

    def _after_commit_stop(self, job: JobRead) -> None:
        bus = self._setup.bus

        async def reach_runner() -> None:
            # Best effort: the runner also learns it at its next lease renewal.
            with contextlib.suppress(SwitchboardError):
                await bus.publish(Event(topic=task_topic(job.id), type=CANCEL_REQUESTED))

        self._uow.after_commit(reach_runner)

    def _after_commit_announce(self, job: JobRead, name: str) -> None:
        bus = self._setup.bus

        async def announce() -> None:
            await publish_job_event(bus, job, name)

        self._uow.after_commit(announce)
