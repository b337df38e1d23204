"""Recovery and scheduling: what turns the rows back into queue messages.

The queue can lose messages (a restart of the in-process broker, Redis away while a job
was created, a delayed delivery whose process died); the rows cannot. The sweeper runs
in every process that runs jobs or serves the API and, every few seconds:

- puts running jobs whose lease lapsed (their worker died) back to pending, or fails
  them once their attempts are spent, and queues them again;
- queues pending jobs that are due but have not started for a while (lost messages,
  and `run_at` jobs whose timer was in a process that stopped);
- fires recurring schedules that are due, once across all replicas;
- counts jobs by status and the queue's depth for the metrics.

Every step is a conditional UPDATE, so any number of sweepers can run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError

from switchboard.core.errors import SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.jobs.errors import UnknownJobType
from switchboard.core.jobs.events import publish_job_event
from switchboard.core.jobs.leases import JobLeases, ScheduleDue
from switchboard.core.jobs.ports import JobObserver, JobQueue, NullObserver
from switchboard.core.jobs.registry import JobRegistry

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SweepOptions:
    """How often to sweep, and how long a due job may wait before it counts as lost."""

    interval_seconds: float = 5.0
    stale_after_seconds: float = 30.0
    batch: int = 500
    recover_limit: int = 10_000


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep did."""

    reaped: int = 0
    requeued: int = 0
    fired: int = 0


class JobSweeper:
    """Reaps lapsed leases, re-queues lost messages and fires due schedules."""

    def __init__(
        self,
        leases: JobLeases,
        registry: JobRegistry,
        queue: JobQueue,
        bus: EventBus,
        options: SweepOptions | None = None,
        observer: JobObserver | None = None,
    ) -> None:
        self._leases = leases
        self._registry = registry
        self._queue = queue
        self._bus = bus
        self.options = options or SweepOptions()
        self._observer = observer or NullObserver()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def recover(self) -> int:
        """At start-up: queue every pending job again (the broker may have lost them)
        and deal with lapsed leases. Returns how many jobs were queued."""
        pending = await self._leases.pending_ids(self.options.recover_limit)
        now = self._leases.clock()
        for job_id, run_at in pending:
            delay = max((run_at - now).total_seconds(), 0.0) if run_at else 0.0
            await self._queue.enqueue(job_id, delay=delay)
        reaped = await self._reap()
        if pending or reaped:
            log.info("jobs_recovered", requeued=len(pending), reaped=reaped)
        return len(pending) + reaped

    async def sweep(self) -> SweepReport:
        """One pass of everything the sweeper does."""
        reaped = await self._reap()
        stale = await self._leases.stale_pending(
            self.options.stale_after_seconds, self.options.batch
        )
        for job_id in stale:
            await self._queue.enqueue(job_id)
        if stale:
            log.info("jobs_requeued", count=len(stale))
        fired = await self._fire_schedules()
        self._observer.jobs_by_status(await self._leases.count_by_status())
        self._observer.queue_depth(await self._queue.depth())
        return SweepReport(reaped=reaped, requeued=len(stale), fired=fired)

    def start(self) -> None:
        """Sweep every interval in the background until `aclose`."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="job-sweeper")

    async def aclose(self) -> None:
        """Stop sweeping once the sweep in progress, if any, is done.

        A sweep is never cancelled mid-transaction: a write cancelled while its commit is
        in flight on the driver may or may not land, and on SQLite its connection can
        keep the write lock.
        """
        if self._task is not None:
            self._stopping.set()
            await asyncio.wait({self._task})
            self._task = None

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.options.interval_seconds)
                return  # stopping
            try:
                await self.sweep()
            except (SQLAlchemyError, OSError, SwitchboardError) as exc:
                # The database (or Redis) is away: try again next time, never stop.
                log.warning("job_sweep_failed", error=type(exc).__name__)

    async def _reap(self) -> int:
        reaped = await self._leases.reap(self.options.batch)
        for item in reaped:
            name = "created" if item.requeued else item.job.status.value
            # The one line of recovered work: the worker running this job went silent.
            log.warning(
                "job_lease_lapsed",
                job_id=item.job.id,
                job_type=item.job.type,
                attempt=item.job.attempts,
                max_attempts=item.job.max_attempts,
                now=item.job.status.value,
                reason="the worker running the job stopped renewing its lease",
            )
            await publish_job_event(self._bus, item.job, name)
            if item.requeued:
                await self._queue.enqueue(item.job.id)
        return len(reaped)

    async def _fire_schedules(self) -> int:
        fired = 0
        for due in await self._leases.due_schedules(self.options.batch):
            if await self._fire(due):
                fired += 1
        return fired

    async def _fire(self, due: ScheduleDue) -> bool:
        try:
            job_type = self._registry.get(due.type)
        except UnknownJobType:
            log.warning("job_schedule_type_unknown", schedule_id=due.id, job_type=due.type)
            await self._leases.skip_schedule(due)
            return False
        job = await self._leases.fire_schedule(due, job_type.max_attempts)
        if job is None:
            return False
        log.info("job_schedule_fired", schedule_id=due.id, job_id=job.id)
        await self._queue.enqueue(job.id)
        await publish_job_event(self._bus, job, "created")
        return True
