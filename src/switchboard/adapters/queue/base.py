"""What both taskiq queues share: the one task, delayed sends, and a graceful stop.

The queue only carries job ids; the job row is the truth. So a send that fails (Redis
away) is logged rather than raised into the request that created the job, and
remembered: a task probes the transport until it answers and then sends what failed at
once, so a job created during an outage runs as soon as the queue is back rather than
when the sweeper finds it stale. A delayed send lives in a timer of this process: if
the process stops first, the sweeper finds the job due and queues it again (as it does
for the unsent ids of a process that stopped).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from taskiq import AsyncBroker
from taskiq.exceptions import SendTaskError

from switchboard.core.jobs.ports import RunJob

log = structlog.get_logger(__name__)

TASK_NAME = "switchboard.run_job"
# Unsent ids kept for the reconnection; beyond this the sweeper finds them (it would,
# anyway, after `stale_after_seconds`).
MAX_UNSENT = 10_000
# How often a queue whose sends failed asks its transport whether it is back.
PROBE_SECONDS = (0.1, 1.0)


class TaskiqJobQueue:
    """A `JobTransport` over a taskiq broker with one task, `run_job(job_id)`."""

    # Exceptions of the transport that mean "not sent" (subclasses name their vendor's).
    # taskiq wraps what the broker raised while sending in SendTaskError.
    transport_errors: tuple[type[BaseException], ...] = (OSError, SendTaskError)

    def __init__(
        self,
        broker: AsyncBroker,
        *,
        concurrency: int = 16,
        grace_seconds: float = 10.0,
        max_delay_seconds: float = 3600.0,
    ) -> None:
        self.broker = broker
        self.concurrency = concurrency
        self._grace = grace_seconds
        self._max_delay = max_delay_seconds

        async def run_job(job_id: str) -> None:
            await self._deliver(job_id)

        # A plain function, not the bound method: taskiq renames what it registers.
        self._task = broker.register_task(run_job, task_name=TASK_NAME)
        self._run: RunJob | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[Any]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sends: set[asyncio.Task[None]] = set()
        # Ids whose send failed, in order, until the transport answers again.
        self._unsent: dict[str, None] = {}
        self._resender: asyncio.Task[None] | None = None
        self._connected = False
        self._stopping = False

    # -- JobQueue ------------------------------------------------------------------------
    async def enqueue(self, job_id: str, *, delay: float = 0.0) -> None:
        """Send `job_id` now, or after `delay` seconds from a timer of this process."""
        if not self._accepting():
            log.debug("job_enqueue_skipped", job_id=job_id, reason="queue not running")
            return
        if delay <= 0:
            await self._send(job_id)
        elif delay <= self._max_delay and job_id not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[job_id] = loop.call_later(delay, self._send_later, job_id)
        # Beyond the horizon no timer is kept: the sweeper queues the job when it is due.

    async def depth(self) -> int | None:
        """Messages waiting; subclasses know how to count them."""
        return None

    # -- JobTransport --------------------------------------------------------------------
    async def start(self, run: RunJob | None = None) -> None:
        """Connect; with `run`, also receive and run jobs."""
        self._run = run
        self._stopping = False
        await self._connect()
        self._connected = True
        if run is not None:
            await self._start_receiving()

    async def stop(self) -> None:
        """Stop receiving; give running jobs the grace period, then hand them back."""
        self._stopping = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        await self._stop_resending()
        await self._stop_receiving()
        if self._running:
            await asyncio.wait(set(self._running), timeout=self._grace)
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.wait(set(self._running))
        if self._sends:
            await asyncio.wait(set(self._sends))
        await self._settle_deliveries()
        self._connected = False
        self._run = None
        await self.broker.shutdown()

    @property
    def running(self) -> int:
        """Jobs running in this process now."""
        return len(self._running)

    # -- for subclasses ------------------------------------------------------------------
    def _accepting(self) -> bool:
        return self._connected

    async def _connect(self) -> None:
        await self.broker.startup()

    async def _start_receiving(self) -> None:
        """Begin consuming (the in-memory broker delivers by itself)."""

    async def _stop_receiving(self) -> None:
        """Stop taking new deliveries."""

    async def _probe(self) -> None:
        """Raise one of `transport_errors` while the transport cannot take a send."""

    async def _send(self, job_id: str) -> None:
        try:
            await self._task.kiq(job_id)
        except self.transport_errors as exc:
            # The row is pending and due: sent again once the transport answers.
            log.warning("job_enqueue_failed", job_id=job_id, error=type(exc).__name__)
            self._send_when_back(job_id)

    def _send_when_back(self, job_id: str) -> None:
        if len(self._unsent) < MAX_UNSENT:
            self._unsent[job_id] = None
        if self._resender is None or self._resender.done():
            self._resender = asyncio.create_task(self._resend(), name="job-queue-resend")

    async def _resend(self) -> None:
        """Probe until the transport answers, then send every remembered id at once."""
        pause = PROBE_SECONDS[0]
        while self._unsent and self._accepting() and not self._stopping:
            await asyncio.sleep(pause)
            pause = min(pause * 2, PROBE_SECONDS[1])
            try:
                await self._probe()
                await self._send_unsent()
            except self.transport_errors:
                continue
            log.info("job_queue_reconnected")

    async def _send_unsent(self) -> None:
        for job_id in list(self._unsent):
            await self._task.kiq(job_id)  # a failure leaves it, and the rest, for later
            self._unsent.pop(job_id, None)

    async def _stop_resending(self) -> None:
        resender, self._resender = self._resender, None
        if resender is not None:
            resender.cancel()
            await asyncio.wait({resender})

    async def _deliver(self, job_id: str) -> None:
        """The taskiq task: run one job id in this process."""
        run = self._run
        if run is None or self._stopping:
            self._starting(job_id)
            return
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            async with self._slots:
                self._starting(job_id)
                await run(job_id)
        finally:
            if task is not None:
                self._running.discard(task)

    def _starting(self, job_id: str) -> None:
        """A delivery of `job_id` leaves the waiting line."""

    async def _settle_deliveries(self) -> None:
        """Let what follows finished runs (acknowledgements) end before disconnecting."""

    def _send_later(self, job_id: str) -> None:
        self._timers.pop(job_id, None)
        if not self._accepting():
            return
        send = asyncio.create_task(self._send(job_id))
        self._sends.add(send)
        send.add_done_callback(self._sends.discard)
