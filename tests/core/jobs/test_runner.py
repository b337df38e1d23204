"""JobRunner: claims, outcomes, retries, timeouts, cancellation, leases and progress."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence, Sized

from structlog.testing import capture_logs

from switchboard.adapters.bus.memory import MemoryBus
from switchboard.core.events.errors import BusUnavailable
from switchboard.core.events.schemas import Event, task_topic, user_topic
from switchboard.core.jobs.repository import JobRepository
from switchboard.core.jobs.runner import (
    INTERNAL_ERROR_MESSAGE,
    JobRunner,
    Outcome,
    backoff_seconds,
)
from switchboard.core.jobs.schemas import JobStatus
from switchboard.kit.clock import utcnow
from tests.core.jobs.conftest import FAST, JobsEnv, collect
from tests.fixtures.clock import ShiftedClock
from tests.fixtures.jobs import CALLS, CANCELLED
from tests.fixtures.waiting import eventually


class TestSuccess:
    async def test_completes_with_result_cost_and_events(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "hi", "cost": 0.25})
        events, pump = await collect(jobs_env.bus, task_topic(job.id))
        assert await jobs_env.runner.run(job.id) == Outcome.COMPLETED
        row = await jobs_env.row(job.id)
        assert row.status == JobStatus.COMPLETED
        assert row.result == {"echo": "hi", "attempt": 1, "actual_cost": 0.25}
        assert row.actual_cost == 0.25
        assert row.progress == 1.0 and row.attempts == 1
        assert row.started_at is not None and row.finished_at is not None
        await eventually(lambda: [e.type for e in events] == ["job.started", "job.completed"])
        assert events[-1].data["status"] == "completed"
        assert jobs_env.observer.finished[-1][:2] == ("test.echo", "completed")
        pump.cancel()

    async def test_double_delivery_runs_the_handler_once(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.sleep", {"seconds": 0.2})
        other = jobs_env.runner_with(worker_id="other-process")
        outcomes = await asyncio.gather(jobs_env.runner.run(job.id), other.run(job.id))
        assert sorted(o.value for o in outcomes) == ["completed", "skipped"]
        assert CALLS[job.id] == 1
        # A late redelivery after completion is a no-op too.
        assert await jobs_env.runner.run(job.id) == Outcome.SKIPPED
        assert (await jobs_env.row(job.id)).attempts == 1


class TestRetries:
    async def test_retryable_error_backs_off_then_completes(
        self, jobs_env: JobsEnv, clock: ShiftedClock
    ) -> None:
        owner = await jobs_env.user()
        runner = jobs_env.runner_with(retry_base_seconds=0.2, retry_max_seconds=0.2)
        job = await jobs_env.create(owner, "test.flaky", {"failures": 2})
        jobs_env.queue.sent.clear()
        assert await runner.run(job.id) == Outcome.RETRYING
        row = await jobs_env.row(job.id)
        assert row.status == JobStatus.PENDING
        assert row.error == "Upstream is down" and row.error_code == "upstream_unavailable"
        assert row.run_at is not None and row.run_at > clock.now()
        ((sent_id, delay),) = jobs_env.queue.sent
        assert sent_id == job.id and 0.1 <= delay <= 0.2
        # Not due yet: an early delivery does nothing.
        assert await runner.run(job.id) == Outcome.SKIPPED
        clock.advance(0.21)
        assert await runner.run(job.id) == Outcome.RETRYING
        clock.advance(0.21)
        assert await runner.run(job.id) == Outcome.COMPLETED
        row = await jobs_env.row(job.id)
        assert row.result == {"attempt": 3} and row.attempts == 3
        assert row.error is None
        assert jobs_env.observer.retries == ["test.flaky", "test.flaky"]

    async def test_retryable_error_fails_once_attempts_are_spent(
        self, jobs_env: JobsEnv, clock: ShiftedClock
    ) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.flaky", {"failures": 9, "kind": "rate_limited"})
        outcomes = []
        for _ in range(3):
            outcomes.append(await jobs_env.runner.run(job.id))
            clock.advance(FAST["retry_max_seconds"] + 0.01)  # past the longest backoff
        assert outcomes == [Outcome.RETRYING, Outcome.RETRYING, Outcome.FAILED]
        row = await jobs_env.row(job.id)
        assert row.status == JobStatus.FAILED and row.error_code == "rate_limited"
        assert await jobs_env.runner.run(job.id) == Outcome.SKIPPED

    async def test_permanent_error_fails_without_retry(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.flaky", {"failures": 1, "kind": "rejected"})
        jobs_env.queue.sent.clear()
        assert await jobs_env.runner.run(job.id) == Outcome.FAILED
        row = await jobs_env.row(job.id)
        assert row.error == "Upstream refused the request" and row.error_code == "bad_request"
        assert row.attempts == 1 and jobs_env.queue.sent == []

    def test_backoff_grows_with_jitter_and_honours_retry_after(self) -> None:
        delays = [backoff_seconds(n, 1.0, 100.0, None) for n in (1, 2, 3, 4)]
        for n, delay in enumerate(delays, start=1):
            assert 2 ** (n - 1) / 2 <= delay <= 2 ** (n - 1)
        assert backoff_seconds(20, 1.0, 100.0, None) <= 100.0
        assert backoff_seconds(1, 1.0, 100.0, 30.0) == 30.0
        assert len({backoff_seconds(3, 1.0, 100.0, None) for _ in range(20)}) > 1


class TestFailures:
    async def test_unexpected_error_fails_safely_and_is_logged(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.crash", {})
        with capture_logs() as logs:
            assert await jobs_env.runner.run(job.id) == Outcome.FAILED
        row = await jobs_env.row(job.id)
        assert row.error == INTERNAL_ERROR_MESSAGE and row.error_code == "internal_error"
        assert "passwd" not in (row.error or "")
        crashed = [entry for entry in logs if entry["event"] == "job_crashed"]
        assert crashed and isinstance(crashed[0]["exc_info"], RuntimeError)
        assert crashed[0]["job_id"] == job.id
        # The runner (the worker) carries on.
        after = await jobs_env.create(owner, "test.echo", {"value": "still here"})
        assert await jobs_env.runner.run(after.id) == Outcome.COMPLETED

    async def test_result_that_is_not_json_fails(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.not_json", {})
        assert await jobs_env.runner.run(job.id) == Outcome.FAILED
        assert (await jobs_env.row(job.id)).error_code == "internal_error"

    async def test_handler_cancelling_itself_fails(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.cancel_itself", {})
        assert await jobs_env.runner.run(job.id) == Outcome.FAILED

    async def test_timeout_fails_the_job(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.slow_timeout", {"seconds": 10})
        started = time.monotonic()
        assert await jobs_env.runner.run(job.id) == Outcome.FAILED
        assert time.monotonic() - started < 2
        row = await jobs_env.row(job.id)
        assert row.error_code == "job_timeout" and "0.3 s" in (row.error or "")
        assert job.id in CANCELLED

    async def test_type_gone_from_the_registry_fails(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        await jobs_env.update(job.id, type="test.removed")
        assert await jobs_env.runner.run(job.id) == Outcome.FAILED
        assert (await jobs_env.row(job.id)).error_code == "unknown_job_type"


class TestCancellation:
    async def _running(
        self, jobs_env: JobsEnv, runner: JobRunner | None = None
    ) -> tuple[str, str, asyncio.Task[Outcome]]:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.sleep", {"seconds": 30})
        task = asyncio.create_task((runner or jobs_env.runner).run(job.id))
        await eventually(lambda: CALLS[job.id] == 1)
        return owner, job.id, task

    async def test_cancel_stops_the_handler_within_a_second(self, jobs_env: JobsEnv) -> None:
        # A slow heartbeat: only the bus message can make this fast.
        runner = jobs_env.runner_with(heartbeat_seconds=30)
        owner, job_id, task = await self._running(jobs_env, runner)
        started = time.monotonic()
        cancelled = await jobs_env.service(lambda s: s.cancel(owner, job_id))
        # Cancelled at once, before the handler has stopped.
        assert (await jobs_env.row(job_id)).status == JobStatus.CANCELLED
        assert await asyncio.wait_for(task, 1.0) == Outcome.CANCELLED
        assert time.monotonic() - started < 1.0
        assert job_id in CANCELLED
        row = await jobs_env.row(job_id)
        assert row.status == JobStatus.CANCELLED and row.finished_at == cancelled.finished_at

    async def test_cancel_read_at_the_heartbeat_stops_the_handler(self, jobs_env: JobsEnv) -> None:
        # The bus message lost: the next lease renewal finds the row cancelled.
        runner = jobs_env.runner_with(watch_after_seconds=0.0)
        owner, job_id, task = await self._running(jobs_env, runner)
        async with jobs_env.units() as uow:
            await JobRepository(uow.session).cancel(owner, job_id, utcnow())
        assert await asyncio.wait_for(task, 1.0) == Outcome.CANCELLED
        assert job_id in CANCELLED
        assert (await jobs_env.row(job_id)).status == JobStatus.CANCELLED

    async def test_a_handler_ending_after_the_cancel_writes_nothing(
        self, jobs_env: JobsEnv
    ) -> None:
        # Nothing tells this runner (no watcher before the handler ends): its final write
        # is refused by the row, which stays as the cancel left it.
        runner = jobs_env.runner_with(watch_after_seconds=30, heartbeat_seconds=30)
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.sleep", {"seconds": 0.3})
        task = asyncio.create_task(runner.run(job.id))
        await eventually(lambda: CALLS[job.id] == 1)
        await jobs_env.service(lambda s: s.cancel(owner, job.id))
        cancelled = await jobs_env.row(job.id)
        assert await asyncio.wait_for(task, 2.0) == Outcome.CANCELLED
        assert job.id not in CANCELLED  # the handler ran to its end
        assert await jobs_env.row(job.id) == cancelled
        assert cancelled.status == JobStatus.CANCELLED and cancelled.result is None

    async def test_cancel_flag_alone_reaches_the_runner(self, jobs_env: JobsEnv) -> None:
        # The bus message lost (Redis blinked): the flag, read at each renewal, suffices.
        _, job_id, task = await self._running(jobs_env)
        await jobs_env.update(job_id, cancel_requested=True)
        assert await asyncio.wait_for(task, 1.0) == Outcome.CANCELLED
        assert (await jobs_env.row(job_id)).status == JobStatus.CANCELLED

    async def test_lost_lease_stops_the_handler_and_writes_nothing(self, jobs_env: JobsEnv) -> None:
        _, job_id, task = await self._running(jobs_env)
        await jobs_env.update(job_id, lease_owner="someone-else/1234")
        assert await asyncio.wait_for(task, 1.0) == Outcome.LOST
        row = await jobs_env.raw(job_id)
        assert row.status == "running" and row.lease_owner == "someone-else/1234"

    async def test_shutdown_hands_the_job_back(self, jobs_env: JobsEnv) -> None:
        _, job_id, task = await self._running(jobs_env)
        jobs_env.queue.sent.clear()
        task.cancel()
        await asyncio.wait({task})
        assert task.cancelled()
        row = await jobs_env.raw(job_id)
        assert row.status == "pending" and row.attempts == 0
        assert row.lease_owner is None
        assert jobs_env.queue.ids() == [job_id]


class TestProgress:
    async def test_progress_is_stored_and_published(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.sleep", {"seconds": 0.15, "steps": 3})
        events, pump = await collect(jobs_env.bus, task_topic(job.id))
        assert await jobs_env.runner.run(job.id) == Outcome.COMPLETED
        await eventually(lambda: events and events[-1].type == "job.completed")
        progress = [e.data for e in events if e.type == "job.progress"]
        assert [round(p["progress"], 2) for p in progress] == [0.33, 0.67, 1.0]
        assert progress[0]["progress_message"] == "step 1"
        pump.cancel()

    async def test_progress_is_throttled(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        runner = jobs_env.runner_with(progress_interval_seconds=10)
        job = await jobs_env.create(owner, "test.sleep", {"seconds": 0.05, "steps": 5})
        events, pump = await collect(jobs_env.bus, task_topic(job.id))
        assert await runner.run(job.id) == Outcome.COMPLETED
        await eventually(lambda: events and events[-1].type == "job.completed")
        # The first report, then nothing until the final one.
        assert len([e for e in events if e.type == "job.progress"]) == 2
        pump.cancel()


def _holds(items: Sized, count: int) -> Callable[[], bool]:
    """Whether `items` holds `count` items yet."""
    return lambda: len(items) == count


class CountingBus(MemoryBus):
    """The memory bus, counting how its events were handed over."""

    def __init__(self) -> None:
        super().__init__()
        self.singles = 0
        self.batches: list[int] = []

    async def publish(self, event: Event) -> None:
        self.singles += 1
        await super().publish(event)

    async def publish_many(self, events: Sequence[Event]) -> None:
        self.batches.append(len(events))
        await super().publish_many(events)


class TestBatches:
    async def test_a_burst_is_claimed_finished_and_announced_in_batches(
        self, jobs_env: JobsEnv
    ) -> None:
        bus = CountingBus()
        runner = JobRunner(jobs_env.units, jobs_env.registry, jobs_env.queue, bus)
        owner = await jobs_env.user()
        jobs = [await jobs_env.create(owner, "test.echo", {"value": str(n)}) for n in range(10)]
        by_task = {job.id: await collect(bus, task_topic(job.id)) for job in jobs}
        user_events, user_pump = await collect(bus, user_topic(owner))
        outcomes = await asyncio.gather(*(runner.run(job.id) for job in jobs))
        assert set(outcomes) == {Outcome.COMPLETED}
        for n, job in enumerate(jobs):
            row = await jobs_env.row(job.id)
            assert row.result == {"echo": str(n), "attempt": 1}
        for job_id, (events, _) in by_task.items():
            await eventually(_holds(events, 2))
            assert [e.type for e in events] == ["job.started", "job.completed"]
            assert events[-1].data["id"] == job_id and events[-1].data["result"] is not None
        await eventually(lambda: len(user_events) == 20)
        # Every job's events went out in batches: 40 events in far fewer publishes.
        assert bus.singles == 0 and sum(bus.batches) == 40 and len(bus.batches) < 10
        for _, pump in by_task.values():
            pump.cancel()
        user_pump.cancel()
        await bus.aclose()

    async def test_a_bus_that_is_down_fails_no_job(self, jobs_env: JobsEnv) -> None:
        class DownBus(MemoryBus):
            async def publish_many(self, events: Sequence[Event]) -> None:
                raise BusUnavailable("The event bus is unavailable")

        runner = JobRunner(jobs_env.units, jobs_env.registry, jobs_env.queue, DownBus())
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        with capture_logs() as logs:
            assert await runner.run(job.id) == Outcome.COMPLETED
        unpublished = [e["event"] for e in logs if e["event"] == "job_event_not_published"]
        assert len(unpublished) == 2  # started and completed
