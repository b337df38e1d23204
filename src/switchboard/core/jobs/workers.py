"""Whether anything runs the jobs: worker heartbeats, and what health and the log say.

With Redis, jobs run in `switchboard worker` processes (or in a server started with jobs
in process). Each of them beats every `interval_seconds` into a `WorkerPresence`, a beat
lasting three intervals. A process that only serves the API watches instead: when no
beat is alive while jobs wait, it logs one WARNING (not one per poll), and one INFO once
a worker is back. Health reads the same `status()`: none alive is `degraded`, never
`down` (the API still answers; jobs wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError

from switchboard.core.jobs.leases import JobLeases
from switchboard.core.jobs.ports import WorkerPresence
from switchboard.kit.clock import Clock, utcnow

log = structlog.get_logger(__name__)

# A beat lasts this many intervals: one missed beat (a slow Redis, a busy loop) is not
# a dead worker.
BEATS_TO_LAPSE = 3


def this_process() -> str:
    """`host:pid`: how job leases and heartbeats name this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """Live workers, and, when there are none, how long the oldest due job has waited."""

    alive: int
    oldest_pending_seconds: float | None = None

    @property
    def problem(self) -> str | None:
        """What health reports when no worker is alive; None when one is."""
        if self.alive:
            return None
        if self.oldest_pending_seconds is None:
            return "none alive; no job waiting"
        return f"none alive; oldest pending job waited {self.oldest_pending_seconds:.0f} s"


class WorkerWatch:
    """This process's heartbeat while it runs jobs, or its watch over the others."""

    def __init__(
        self,
        presence: WorkerPresence,
        leases: JobLeases,
        *,
        interval_seconds: float,
        worker_id: str | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.presence = presence
        self.leases = leases
        self.interval = interval_seconds
        self.worker_id = worker_id or this_process()
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._beating = False
        # True from the warning about waiting jobs until a worker is seen again.
        self._warned = False
        self._beat_failing = False

    # -- the view ------------------------------------------------------------------------
    async def status(self) -> WorkerStatus:
        """Live workers now; the oldest waiting job is looked up only when there are none."""
        alive = len(await self.presence.alive(self.clock()))
        if alive:
            return WorkerStatus(alive)
        since = await self.leases.oldest_waiting()
        if since is None:
            return WorkerStatus(0)
        waited = max((self.clock() - since).total_seconds(), 0.0)
        return WorkerStatus(0, round(waited, 1))

    async def poll(self) -> WorkerStatus:
        """`status()`, logging when jobs start waiting with no worker and when one is back."""
        status = await self.status()
        if status.alive and self._warned:
            self._warned = False
            log.info("workers_back", alive=status.alive)
        elif not status.alive and status.oldest_pending_seconds is not None and not self._warned:
            self._warned = True
            log.warning(
                "jobs_waiting_without_workers",
                oldest_pending_s=status.oldest_pending_seconds,
                reason="no worker heartbeat is alive; start `switchboard worker`",
            )
        return status

    # -- the heartbeat -------------------------------------------------------------------
    async def beat(self) -> None:
        """Say this process runs jobs, for the next three intervals."""
        ttl = self.interval * BEATS_TO_LAPSE
        try:
            await self.presence.beat(self.worker_id, self.clock(), ttl)
        except OSError as exc:
            if not self._beat_failing:
                self._beat_failing = True
                log.warning("worker_heartbeat_failed", error=type(exc).__name__)
            return
        if self._beat_failing:
            self._beat_failing = False
            log.info("worker_heartbeat_resumed")

    # -- life cycle ----------------------------------------------------------------------
    async def start(self, *, consuming: bool) -> None:
        """Beat (at once, then every interval) when this process runs jobs, else watch."""
        if self._task is not None:
            return
        self._stopping.clear()
        self._beating = consuming
        if consuming:
            await self.beat()
        self._task = asyncio.create_task(self._loop(), name="job-workers")

    async def aclose(self) -> None:
        """Stop; a process that was beating says it left, so health sees it at once."""
        if self._task is not None:
            self._stopping.set()
            await asyncio.wait({self._task})
            self._task = None
        if self._beating:
            self._beating = False
            with contextlib.suppress(OSError):
                await self.presence.leave(self.worker_id)
        await self.presence.aclose()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
                return  # stopping
            if self._beating:
                await self.beat()
                continue
            try:
                await self.poll()
            except (OSError, SQLAlchemyError) as exc:
                # Redis or the database is away: health says so; try again next time.
                log.debug("worker_watch_failed", error=type(exc).__name__)
