"""JobSweeper: lapsed leases, lost messages, `run_at` jobs and recurring schedules."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from switchboard.core.events.schemas import task_topic
from switchboard.core.jobs.runner import Outcome
from switchboard.core.jobs.schemas import JobStatus, ScheduleCreate
from switchboard.kit.clock import utcnow
from switchboard.models import Job, JobSchedule
from tests.core.jobs.conftest import JobsEnv, collect
from tests.fixtures.clock import ShiftedClock
from tests.fixtures.waiting import eventually, yield_to_loop

DEAD_WORKERS_LEASE = 1.0


async def _orphan(jobs_env: JobsEnv, clock: ShiftedClock, job_id: str) -> None:
    """Claim `job_id` as a worker that then dies: its lease lapses."""
    claimed = await jobs_env.leases.claim(job_id, "dead-worker/1", DEAD_WORKERS_LEASE)
    assert claimed is not None
    clock.advance(DEAD_WORKERS_LEASE + 1)


class TestReaper:
    async def test_lapsed_lease_is_retried_and_completed(
        self, jobs_env: JobsEnv, clock: ShiftedClock
    ) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "orphan"})
        await _orphan(jobs_env, clock, job.id)
        jobs_env.queue.sent.clear()
        events, pump = await collect(jobs_env.bus, task_topic(job.id))
        report = await jobs_env.sweeper().sweep()
        assert report.reaped == 1
        assert jobs_env.queue.ids() == [job.id]
        assert (await jobs_env.row(job.id)).status == JobStatus.PENDING
        assert await jobs_env.runner.run(job.id) == Outcome.COMPLETED
        row = await jobs_env.row(job.id)
        assert row.attempts == 2 and row.result == {"echo": "orphan", "attempt": 2}
        await eventually(lambda: "job.completed" in [e.type for e in events])
        pump.cancel()

    async def test_redelivery_may_take_over_a_lapsed_lease(
        self, jobs_env: JobsEnv, clock: ShiftedClock
    ) -> None:
        # The Redis broker's reclaim reaches a worker before any sweep does.
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "stolen"})
        await _orphan(jobs_env, clock, job.id)
        assert await jobs_env.runner.run(job.id) == Outcome.COMPLETED

    async def test_live_lease_is_left_alone(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "busy"})
        assert await jobs_env.leases.claim(job.id, "alive/1", lease_seconds=60) is not None
        assert (await jobs_env.sweeper().sweep()).reaped == 0
        assert await jobs_env.runner.run(job.id) == Outcome.SKIPPED

    async def test_out_of_attempts_fails(self, jobs_env: JobsEnv, clock: ShiftedClock) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"}, max_attempts=1)
        await _orphan(jobs_env, clock, job.id)
        assert await jobs_env.runner.run(job.id) == Outcome.SKIPPED
        await jobs_env.sweeper().sweep()
        row = await jobs_env.row(job.id)
        assert row.status == JobStatus.FAILED and row.error_code == "worker_lost"

    async def test_cancel_requested_becomes_cancelled(
        self, jobs_env: JobsEnv, clock: ShiftedClock
    ) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        await _orphan(jobs_env, clock, job.id)
        await jobs_env.update(job.id, cancel_requested=True)
        await jobs_env.sweeper().sweep()
        assert (await jobs_env.row(job.id)).status == JobStatus.CANCELLED


class TestLostMessages:
    async def test_stale_pending_job_is_queued_again_once(
        self, jobs_env: JobsEnv, clock: ShiftedClock
    ) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "lost"})
        jobs_env.queue.sent.clear()
        sweeper = jobs_env.sweeper(stale_after_seconds=10)
        assert (await sweeper.sweep()).requeued == 0  # too fresh: its message may be on the way
        clock.advance(15)
        assert (await sweeper.sweep()).requeued == 1
        assert (await sweeper.sweep()).requeued == 0  # marked: not again until stale again
        assert jobs_env.queue.ids() == [job.id]

    async def test_run_at_job_waits_then_is_picked_up(
        self, jobs_env: JobsEnv, clock: ShiftedClock
    ) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(
            owner, "test.echo", {"value": "later"}, run_at=clock.now() + timedelta(seconds=20)
        )
        jobs_env.queue.sent.clear()
        assert await jobs_env.runner.run(job.id) == Outcome.SKIPPED
        sweeper = jobs_env.sweeper(stale_after_seconds=5)
        assert (await sweeper.sweep()).requeued == 0
        clock.advance(30)
        assert (await sweeper.sweep()).requeued == 1
        assert await jobs_env.runner.run(job.id) == Outcome.COMPLETED

    async def test_recover_queues_every_pending_job(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        now_job = await jobs_env.create(owner, "test.echo", {"value": "a"})
        later = await jobs_env.create(
            owner, "test.echo", {"value": "b"}, run_at=utcnow() + timedelta(seconds=30)
        )
        done = await jobs_env.create(owner, "test.echo", {"value": "c"})
        await jobs_env.runner.run(done.id)
        jobs_env.queue.sent.clear()
        assert await jobs_env.sweeper().recover() == 2
        sent = dict(jobs_env.queue.sent)
        assert set(sent) == {now_job.id, later.id}
        assert sent[now_job.id] == 0 and 25 < sent[later.id] <= 30

    async def test_loop_sweeps_and_reports_metrics(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        await jobs_env.runner.run(job.id)
        await jobs_env.create(owner, "test.echo", {"value": "y"})
        sweeper = jobs_env.sweeper(interval_seconds=0.02)
        sweeper.start()
        await eventually(lambda: jobs_env.observer.statuses == {"completed": 1, "pending": 1})
        await sweeper.aclose()
        assert jobs_env.observer.depths

    async def test_aclose_lets_the_sweep_in_progress_finish(
        self, jobs_env: JobsEnv, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sweeper = jobs_env.sweeper(interval_seconds=0.01)
        entered, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def slow_sweep() -> None:
            entered.set()
            await release.wait()
            finished.set()

        monkeypatch.setattr(sweeper, "sweep", slow_sweep)
        sweeper.start()
        await entered.wait()
        closing = asyncio.create_task(sweeper.aclose())
        # Nothing to wait for: a close that cancelled the sweep would be done within a
        # few turns of the loop.
        await yield_to_loop(20)
        assert not closing.done()  # waits for the sweep instead of cancelling it
        release.set()
        await closing
        assert finished.is_set()


class TestSchedules:
    async def _due_schedule(self, jobs_env: JobsEnv, owner: str, type: str = "test.echo") -> str:
        spec = ScheduleCreate(type="test.echo", params={"value": "tick"}, cron="*/5 * * * *")
        schedule = await jobs_env.service(lambda s: s.create_schedule(owner, spec))
        async with jobs_env.units() as uow:
            row = await uow.session.get(JobSchedule, schedule.id)
            assert row is not None
            row.next_run_at = utcnow() - timedelta(minutes=1)
            row.type = type
        return schedule.id

    async def test_fires_once_across_concurrent_sweepers(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        schedule_id = await self._due_schedule(jobs_env, owner)
        sweepers = [jobs_env.sweeper() for _ in range(4)]
        reports = await asyncio.gather(*(s.sweep() for s in sweepers))
        assert sum(r.fired for r in reports) == 1
        async with jobs_env.units() as uow:
            jobs = list(await uow.session.scalars(select(Job).where(Job.user_id == owner)))
            schedule = await uow.session.get(JobSchedule, schedule_id)
        assert len(jobs) == 1 and jobs[0].schedule_id == schedule_id
        assert jobs[0].params == {"value": "tick", "cost": None}
        assert schedule is not None and schedule.next_run_at > utcnow()
        assert schedule.last_run_at is not None
        assert jobs_env.queue.ids() == [jobs[0].id]
        # Nothing more until the next moment the cron expression names.
        assert sum(r.fired for r in await asyncio.gather(*(s.sweep() for s in sweepers))) == 0
        assert await jobs_env.runner.run(jobs[0].id) == Outcome.COMPLETED

    async def test_schedule_of_a_vanished_type_is_skipped(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        schedule_id = await self._due_schedule(jobs_env, owner, type="test.removed")
        assert (await jobs_env.sweeper().sweep()).fired == 0
        async with jobs_env.units() as uow:
            schedule = await uow.session.get(JobSchedule, schedule_id)
            count = len(list(await uow.session.scalars(select(Job.id))))
        assert schedule is not None and schedule.next_run_at > utcnow()
        assert count == 0
