"""Running one job: claim its row, run its handler under a lease, record the outcome.

The queue delivers job ids at least once; the row decides what runs. A delivery whose
claim fails (the job finished, was cancelled, is running elsewhere or is not due) is a
no-op, which is what makes double delivery harmless.

While the handler runs, a watcher renews the lease and listens for cancellation on the
job's topic, with the row, read at every renewal, as the fallback. The owner's cancel
makes the row `cancelled` at once, which also ends the claim: from then on every write
of this runner is refused, so nothing it does replaces `cancelled`. (A bare
`cancel_requested` flag asks the runner to finish the job as cancelled itself.) The
watcher starts only once the job has run for `watch_after_seconds` (a quarter of a
second): most jobs are done by then and never pay for a subscription or a renewal, and
a cancel that arrived earlier is read from the row by the watcher's first renewal, so
it still reaches the handler well within a second.

The handler runs in its own task and its outcome is read from that task
(`task.exception()`), so that an unexpected error fails the job, is logged whole, and
never reaches the worker's loop: no blanket `except` is needed.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from switchboard.core.errors import RETRYABLE_KINDS, SwitchboardError
from switchboard.core.events.ports import EventBus, Subscription
from switchboard.core.events.schemas import task_topic
from switchboard.core.jobs.context import JobContext, UnitOfWorkFactory
from switchboard.core.jobs.errors import UnknownJobType
from switchboard.core.jobs.events import CANCEL_REQUESTED, publish_job_events
from switchboard.core.jobs.leases import Finish, JobLeases, completion, failure
from switchboard.core.jobs.ports import JobObserver, JobQueue, NullObserver
from switchboard.core.jobs.registry import JobRegistry, JobType
from switchboard.core.jobs.schemas import JobRead, JobStatus
from switchboard.core.jobs.workers import this_process
from switchboard.kit.batching import Coalescer
from switchboard.kit.clock import Clock, utcnow
from switchboard.kit.redact import redact

log = structlog.get_logger(__name__)

INTERNAL_ERROR_MESSAGE = "The job failed because of an internal error"


class Outcome(StrEnum):
    """How one delivery of a job ended."""

    SKIPPED = "skipped"  # not claimable: finished, cancelled, running elsewhere, not due
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RETRYING = "retrying"  # a retryable error; pending again with a backoff
    RELEASED = "released"  # this process stopped; the job is pending for another
    LOST = "lost"  # the lease lapsed and someone else owns the job now


class _Stop(StrEnum):
    CANCELLED = "cancelled"
    LOST = "lost"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """Timings of leases, retries and progress reports."""

    lease_seconds: float = 30.0
    # How often the lease is renewed and the cancel flag read; a third of the lease.
    heartbeat_seconds: float | None = None
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    progress_interval_seconds: float = 0.25
    # How long a job runs before its lease is renewed and its cancel channel opened; a
    # fresh claim's lease is good for `lease_seconds`, so this only needs to be short
    # enough for cancellation to stay prompt.
    watch_after_seconds: float = 0.25
    worker_id: str = field(default_factory=this_process)

    @property
    def heartbeat(self) -> float:
        """Seconds between lease renewals."""
        return self.heartbeat_seconds or max(self.lease_seconds / 3, 0.05)


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Exponential backoff with full jitter over its upper half, never before
    `retry_after` (an upstream's own hint)."""
    ceiling: float = min(cap, base * 2.0 ** max(attempt - 1, 0))
    # Not cryptography: spreading retries so that failed jobs do not return in a herd.
    delay = ceiling * (0.5 + random.random() / 2)  # noqa: S311
    return max(delay, retry_after or 0.0)


class JobRunner:
    """Executes job ids delivered by the queue."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        registry: JobRegistry,
        queue: JobQueue,
        bus: EventBus,
        options: RunnerOptions | None = None,
        observer: JobObserver | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.units = units
        self.registry = registry
        self.queue = queue
        self.bus = bus
        self.options = options or RunnerOptions()
        self.observer = observer or NullObserver()
        self.leases = JobLeases(units, clock)
        # Deliveries and finishes of the same moment share one statement or transaction:
        # a burst of N jobs costs two round trips to the database instead of 2N.
        self._claims: Coalescer[str, tuple[JobRead, str] | None] = Coalescer(
            self._claim_batch, orphaned=self._claimed_too_late
        )
        self._finishes: Coalescer[Finish, JobRead | None] = Coalescer(self.leases.finish_many)
        # Job events of the same moment go out in one publish (one round trip on Redis),
        # in the order they were announced.
        self._announcements: Coalescer[tuple[JobRead, str], None] = Coalescer(self._announce_batch)
        self._handbacks: set[asyncio.Task[None]] = set()

    async def run(self, job_id: str) -> Outcome:
        """Run the job if it can be claimed now; the outcome is in the row and returned."""
        claimed = await self._claims.submit(job_id)
        if claimed is None:
            log.debug("job_skipped", job_id=job_id)
            return Outcome.SKIPPED
        job, owner = claimed
        return await _Execution(self, job, owner).run()

    async def finish(self, item: Finish) -> JobRead | None:
        """Finish one job, in a transaction shared with the other finishes of the moment."""
        return await self._finishes.submit(item)

    async def announce(self, job: JobRead, name: str) -> None:
        """Publish `job.<name>`, together with the other announcements of the moment."""
        await self._announcements.submit((job, name))

    async def _announce_batch(self, announcements: list[tuple[JobRead, str]]) -> list[None]:
        await publish_job_events(self.bus, announcements)
        return [None] * len(announcements)

    async def _claim_batch(self, job_ids: list[str]) -> list[tuple[JobRead, str] | None]:
        # One claim token per batch: a job appears once in a batch (a second delivery of
        # it in the same moment is skipped), so the token still names one claim per job.
        owner = f"{self.options.worker_id}/{secrets.token_hex(4)}"
        claimed = await self.leases.claim_many(
            list(dict.fromkeys(job_ids)), owner, self.options.lease_seconds
        )
        given: set[str] = set()
        answers: list[tuple[JobRead, str] | None] = []
        for job_id in job_ids:
            job = claimed.get(job_id)
            if job is None or job_id in given:
                answers.append(None)
            else:
                given.add(job_id)
                answers.append((job, owner))
        return answers

    def _claimed_too_late(self, job_id: str, claimed: tuple[JobRead, str] | None) -> None:
        # The delivery was cancelled (this process is stopping) while its claim was in
        # flight: hand the job back rather than leave it to its lease lapsing.
        if claimed is None:
            return
        job, owner = claimed

        async def hand_back() -> None:
            if await self.leases.release(job.id, owner) is not None:
                await self.queue.enqueue(job.id)

        task = asyncio.create_task(hand_back())
        self._handbacks.add(task)
        task.add_done_callback(self._handbacks.discard)


class _Execution:
    """One claimed run of one job."""

    def __init__(self, runner: JobRunner, job: JobRead, owner: str) -> None:
        self.r = runner
        self.job = job
        self.owner = owner
        self.stop: _Stop | None = None
        self.started = time.monotonic()
        self.last_progress = 0.0
        self.log = log.bind(job_id=job.id, job_type=job.type, attempt=job.attempts)

    async def run(self) -> Outcome:
        self.log.info("job_started")
        await self.announce(self.job, "started")
        try:
            job_type = self.r.registry.get(self.job.type)
            params = job_type.params.model_validate(self.job.params)
        except (UnknownJobType, ValidationError):
            # The registry changed since the job was created (a deploy removed or
            # changed the type): running it again would not help.
            outcome = await self.fail("This job type can no longer run", "unknown_job_type")
            return self.finished(outcome)
        outcome = await self.execute(job_type, params)
        return self.finished(outcome)

    async def execute(self, job_type: JobType, params: BaseModel) -> Outcome:
        # The handler's task copies the log context as it is created: every line written
        # while it runs (an upstream failure, a refused URL) names the job.
        with structlog.contextvars.bound_contextvars(job_id=self.job.id, job_type=self.job.type):
            handler: asyncio.Task[Any] = asyncio.create_task(
                _call(job_type, self.context(), params), name=f"job:{self.job.id}"
            )
        watcher = asyncio.create_task(self.watch(handler), name=f"job-watch:{self.job.id}")
        try:
            await asyncio.wait({handler}, timeout=job_type.timeout_seconds)
        except asyncio.CancelledError:
            # This process is stopping: stop the handler and hand the job back.
            await _cancel_and_wait(handler)
            await _cancel_and_wait(watcher)
            await asyncio.shield(self.release())
            raise
        if not handler.done():
            self.stop = self.stop or _Stop.TIMEOUT
            await _cancel_and_wait(handler)
        # The watcher ends by itself once the handler has: cancelling it could interrupt
        # a lease renewal in the middle of its write.
        await asyncio.wait({watcher})
        if not watcher.cancelled() and watcher.exception() is not None:
            self.log.error("job_watcher_failed", exc_info=watcher.exception())
        return await self.settle(handler, job_type)

    # -- while running -------------------------------------------------------------------
    def context(self) -> JobContext:
        return JobContext(
            job_id=self.job.id,
            owner_id=self.job.user_id,
            type=self.job.type,
            attempt=self.job.attempts,
            units=self.r.units,
            report=self.report,
        )

    async def report(self, fraction: float, message: str | None) -> None:
        # Throttled: a handler reporting in a tight loop must not become a write storm.
        now = time.monotonic()
        interval = self.r.options.progress_interval_seconds
        if fraction < 1.0 and now - self.last_progress < interval:
            return
        self.last_progress = now
        updated = await self.r.leases.progress(self.job.id, self.owner, fraction, message)
        if updated is not None:
            await self.announce(updated, "progress")

    async def watch(self, handler: asyncio.Task[Any]) -> None:
        options = self.r.options
        # Short jobs end before this wait does and are never watched at all.
        await asyncio.wait({handler}, timeout=min(options.watch_after_seconds, options.heartbeat))
        if handler.done():
            return
        subscription = await self.subscribe()
        listener = (
            asyncio.create_task(self.listen(subscription, handler))
            if subscription is not None
            else None
        )
        try:
            await self.heartbeat(handler)
        finally:
            if listener is not None:
                await _cancel_and_wait(listener)
            if subscription is not None:
                await subscription.close()

    async def subscribe(self) -> Subscription | None:
        try:
            return await self.r.bus.subscribe([task_topic(self.job.id)], max_queue=16)
        except SwitchboardError as exc:
            # Without the bus, the row's flag (read at every heartbeat) still cancels.
            self.log.warning("job_cancel_channel_unavailable", error=exc.code)
            return None

    async def listen(self, subscription: Subscription, handler: asyncio.Task[Any]) -> None:
        async for event in subscription:
            if event.type == CANCEL_REQUESTED:
                self.interrupt(handler, _Stop.CANCELLED)
                return

    async def heartbeat(self, handler: asyncio.Task[Any]) -> None:
        # The first renewal runs at once (the subscription is open now): it also reads a
        # cancel request that arrived between the claim and the subscription.
        while not handler.done():
            try:
                stop = await self.renew()
            except (SQLAlchemyError, OSError) as exc:
                # The database blinked; the lease has slack for the next try.
                self.log.warning("job_lease_renewal_failed", error=type(exc).__name__)
            else:
                if stop is not None:
                    self.interrupt(handler, stop)
                    return
            await asyncio.wait({handler}, timeout=self.r.options.heartbeat)

    async def renew(self) -> _Stop | None:
        """Renew the lease; why to stop, when the job must stop."""
        state = await self.r.leases.renew(self.job.id, self.owner, self.r.options.lease_seconds)
        if state is None:
            return _Stop.CANCELLED if await self.was_cancelled() else _Stop.LOST
        return _Stop.CANCELLED if state.cancel_requested else None

    async def was_cancelled(self) -> bool:
        """Whether the owner cancelled the job (which ends this claim at once)."""
        job = await self.r.leases.read(self.job.id)
        return job is not None and job.status == JobStatus.CANCELLED

    def interrupt(self, handler: asyncio.Task[Any], reason: _Stop) -> None:
        if self.stop is None:
            self.stop = reason
        handler.cancel()

    # -- outcomes ------------------------------------------------------------------------
    async def settle(self, handler: asyncio.Task[Any], job_type: JobType) -> Outcome:
        if handler.cancelled():
            return await self.settle_stopped(job_type)
        error = handler.exception()
        if error is None:
            return await self.complete(handler.result())
        if isinstance(error, SwitchboardError):
            return await self.settle_error(error)
        self.log.error("job_crashed", exc_info=error)
        return await self.fail(INTERNAL_ERROR_MESSAGE, "internal_error")

    async def settle_stopped(self, job_type: JobType) -> Outcome:
        if self.stop == _Stop.CANCELLED:
            # Refused, and answered by `refused`, when the owner's cancel already ended
            # the claim (and announced it); written when only the row's flag was set.
            cancelled = await self.r.finish(Finish(self.job.id, self.owner, JobStatus.CANCELLED))
            if cancelled is None:
                return await self.refused()
            await self.announce(cancelled, "cancelled")
            return Outcome.CANCELLED
        if self.stop == _Stop.LOST:
            self.log.warning("job_lease_lost")
            return Outcome.LOST
        if self.stop == _Stop.TIMEOUT:
            seconds = f"{job_type.timeout_seconds:g}"
            return await self.fail(f"The job did not finish within {seconds} s", "job_timeout")
        # The handler cancelled itself (an inner task's cancellation leaked out).
        return await self.fail(INTERNAL_ERROR_MESSAGE, "internal_error")

    async def settle_error(self, error: SwitchboardError) -> Outcome:
        if error.kind in RETRYABLE_KINDS and self.job.attempts < self.job.max_attempts:
            return await self.retry(error)
        return await self.fail(error.message, error.code)

    async def complete(self, value: object) -> Outcome:
        result = _as_result(value)
        if result is None:
            self.log.error("job_result_not_json", result_type=type(value).__name__)
            return await self.fail(INTERNAL_ERROR_MESSAGE, "internal_error")
        cost = result.get("actual_cost")
        actual_cost = float(cost) if isinstance(cost, int | float) else None
        done = await self.r.finish(completion(self.job.id, self.owner, result, actual_cost))
        if done is None:
            return await self.refused()
        await self.announce(done, "completed")
        return Outcome.COMPLETED

    async def fail(self, message: str, code: str) -> Outcome:
        failed = await self.r.finish(failure(self.job.id, self.owner, message, code))
        if failed is None:
            return await self.refused()
        # The one line of a failed job, whatever failed it (an error, a timeout, a crash
        # whose traceback `job_crashed` has already logged).
        self.log.warning(
            "job_failed",
            code=code,
            reason=redact(message),
            max_attempts=self.job.max_attempts,
            **_known_target(self.job.params),
        )
        await self.announce(failed, "failed")
        return Outcome.FAILED

    async def retry(self, error: SwitchboardError) -> Outcome:
        options = self.r.options
        delay = backoff_seconds(
            self.job.attempts,
            options.retry_base_seconds,
            options.retry_max_seconds,
            error.retry_after,
        )
        run_at = self.r.leases.clock() + timedelta(seconds=delay)
        again = await self.r.leases.retry_later(
            self.job.id, self.owner, run_at, error.message, error.code
        )
        if again is None:
            return await self.refused()
        self.log.warning(
            "job_retrying",
            code=error.code,
            reason=redact(error.message),
            delay_s=round(delay, 3),
            max_attempts=self.job.max_attempts,
            **_known_target(self.job.params),
        )
        self.r.observer.job_retried(self.job.type)
        await self.announce(again, "retrying")
        await self.r.queue.enqueue(self.job.id, delay=delay)
        return Outcome.RETRYING

    async def refused(self) -> Outcome:
        """The outcome when the row refused this claim's final write: the owner
        cancelled the job meanwhile, or the lease lapsed and another process has it."""
        if await self.was_cancelled():
            return Outcome.CANCELLED
        self.log.warning("job_lease_lost")
        return Outcome.LOST

    async def release(self) -> None:
        released = await self.r.leases.release(self.job.id, self.owner)
        if released is not None:
            self.log.info("job_released")
            self.finished(Outcome.RELEASED)
            await self.r.queue.enqueue(self.job.id)

    async def announce(self, job: JobRead, name: str) -> None:
        await self.r.announce(job, name)

    def finished(self, outcome: Outcome) -> Outcome:
        seconds = time.monotonic() - self.started
        self.log.info("job_finished", outcome=outcome.value, duration_ms=round(seconds * 1000, 1))
        self.r.observer.job_finished(self.job.type, outcome.value, seconds)
        return outcome


async def _call(job_type: JobType, context: JobContext, params: BaseModel) -> Any:
    # Inside the task, so that even a handler failing before its first await is read
    # from the task like any other outcome.
    return await job_type.handler(context, params)


async def _cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it is done, whatever it ends with (its outcome is
    read by the caller from the task itself)."""
    task.cancel()
    await asyncio.wait({task})


def _known_target(params: dict[str, Any]) -> dict[str, str]:
    """The provider and model a job's parameters name, when they name them (an image
    job's `model`), for its failure lines."""
    return {
        key: value
        for key in ("provider", "model")
        if isinstance(value := params.get(key), str) and len(value) <= 200
    }


def _as_result(value: object) -> dict[str, Any] | None:
    """The handler's return value as a stored result; None when it is not JSON."""
    result: object = {} if value is None else value
    if not isinstance(result, dict):
        result = {"value": result}
    try:
        json.dumps(result)
    except (TypeError, ValueError):
        return None
    return result
