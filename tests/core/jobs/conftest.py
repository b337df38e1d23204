"""A jobs set-up on the migrated test database: test job types, the in-process bus, a
queue that records what it was asked to send, a runner with short timings, and a clock
that moves only when a test says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.adapters.bus.memory import MemoryBus
from switchboard.core.events.schemas import Event
from switchboard.core.jobs.leases import JobLeases
from switchboard.core.jobs.registry import JobRegistry
from switchboard.core.jobs.runner import JobRunner, RunnerOptions
from switchboard.core.jobs.schemas import JobCreate, JobRead
from switchboard.core.jobs.service import JobService, JobSetup
from switchboard.core.jobs.sweeper import JobSweeper, SweepOptions
from switchboard.kit.db import UnitOfWork, session_factory, unit_of_work
from switchboard.models import Job, User
from tests.fixtures import jobs as test_jobs
from tests.fixtures.clock import ShiftedClock


class RecordingQueue:
    """A `JobQueue` that remembers what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, float]] = []
        self.fail = False

    async def enqueue(self, job_id: str, *, delay: float = 0.0) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.sent.append((job_id, delay))

    async def depth(self) -> int | None:
        return len(self.sent)

    def ids(self) -> list[str]:
        return [job_id for job_id, _ in self.sent]


class RecordingObserver:
    """A `JobObserver` that keeps everything."""

    def __init__(self) -> None:
        self.finished: list[tuple[str, str, float]] = []
        self.retries: list[str] = []
        self.statuses: dict[str, int] = {}
        self.depths: list[int | None] = []

    def job_finished(self, job_type: str, outcome: str, seconds: float) -> None:
        self.finished.append((job_type, outcome, seconds))

    def job_retried(self, job_type: str) -> None:
        self.retries.append(job_type)

    def jobs_by_status(self, counts: dict[str, int]) -> None:
        self.statuses = counts

    def queue_depth(self, depth: int | None) -> None:
        self.depths.append(depth)


@dataclass
class JobsEnv:
    """Everything a jobs test touches."""

    units: Callable[[], AbstractAsyncContextManager[UnitOfWork]]
    registry: JobRegistry
    bus: MemoryBus
    queue: RecordingQueue
    runner: JobRunner
    observer: RecordingObserver
    leases: JobLeases
    clock: ShiftedClock
    users: list[str] = field(default_factory=list)

    @property
    def setup(self) -> JobSetup:
        return JobSetup(
            registry=self.registry, queue=self.queue, bus=self.bus, clock=self.clock.now
        )

    def runner_with(self, **options: Any) -> JobRunner:
        """Another runner (another 'process') on the same database and bus."""
        return JobRunner(
            self.units,
            self.registry,
            self.queue,
            self.bus,
            RunnerOptions(**{**FAST, **options}),
            self.observer,
            self.clock.now,
        )

    def sweeper(self, **options: Any) -> JobSweeper:
        return JobSweeper(
            self.leases,
            self.registry,
            self.queue,
            self.bus,
            # Rows' `updated_at` follow the real clock, the sweeper the test's `clock`: a
            # threshold above any time a test moves keeps them from looking stale.
            SweepOptions(**{"interval_seconds": 0.05, "stale_after_seconds": 30.0, **options}),
            self.observer,
        )

    async def user(self, email: str | None = None) -> str:
        async with self.units() as uow:
            user = User(email=email or f"user{len(self.users)}@example.com")
            uow.session.add(user)
            await uow.session.flush()
            self.users.append(user.id)
            return user.id

    async def create(self, owner: str, type: str, params: dict[str, Any], **kw: Any) -> JobRead:
        async with self.units() as uow:
            return await JobService(uow, self.setup).create(
                owner, JobCreate(type=type, params=params, **kw)
            )

    async def service(self, work: Callable[[JobService], Any]) -> Any:
        async with self.units() as uow:
            return await work(JobService(uow, self.setup))

    async def row(self, job_id: str) -> JobRead:
        async with self.units() as uow:
            job = await uow.session.scalar(select(Job).where(Job.id == job_id))
            assert job is not None
            return JobRead.model_validate(job)

    async def raw(self, job_id: str) -> Job:
        """The ORM row, with the runner-side columns JobRead leaves out."""
        async with self.units() as uow:
            job = await uow.session.get(Job, job_id)
            assert job is not None
            return job

    async def update(self, job_id: str, **values: Any) -> None:
        async with self.units() as uow:
            job = await uow.session.get(Job, job_id)
            assert job is not None
            for key, value in values.items():
                setattr(job, key, value)


FAST: dict[str, Any] = {
    "lease_seconds": 1.0,
    "heartbeat_seconds": 0.1,
    "retry_base_seconds": 0.01,
    "retry_max_seconds": 0.05,
    "progress_interval_seconds": 0.0,
    "worker_id": "test-runner",
}


@pytest.fixture
async def jobs_env(engine: AsyncEngine) -> AsyncIterator[JobsEnv]:
    sessions = session_factory(engine)

    def units() -> AbstractAsyncContextManager[UnitOfWork]:
        return unit_of_work(sessions)

    registry = JobRegistry()
    test_jobs.register(registry)
    bus = MemoryBus()
    queue = RecordingQueue()
    observer = RecordingObserver()
    clock = ShiftedClock()
    runner = JobRunner(units, registry, queue, bus, RunnerOptions(**FAST), observer, clock.now)
    leases = JobLeases(units, clock.now)
    yield JobsEnv(units, registry, bus, queue, runner, observer, leases, clock)
    await bus.aclose()


async def collect(bus: MemoryBus, topic: str) -> tuple[list[Event], asyncio.Task[None]]:
    """Subscribe to `topic`; events land in the returned list until the task is cancelled."""
    subscription = await bus.subscribe([topic])
    events: list[Event] = []

    async def pump() -> None:
        async for event in subscription:
            events.append(event)

    return events, asyncio.create_task(pump())


@pytest.fixture
def clock(jobs_env: JobsEnv) -> ShiftedClock:
    """The jobs engine's time, injected into its leases, runner, sweeper and service:
    `clock.advance` jumps past leases, backoffs, `run_at` and staleness. It follows the
    real time otherwise, as the rows' `created_at` and `updated_at` do."""
    return jobs_env.clock
