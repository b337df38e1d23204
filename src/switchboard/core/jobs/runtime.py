"""The jobs machinery of one process: transport, runner and sweeper, started together.

`switchboard serve` without Redis consumes in-process; with Redis, API replicas only
send and sweep, and `switchboard worker` processes consume and sweep. With Redis, a
process that consumes also heartbeats, and one that does not watches the heartbeats
(`workers.WorkerWatch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError

from switchboard.core.errors import SwitchboardError
from switchboard.core.jobs.ports import JobTransport
from switchboard.core.jobs.runner import JobRunner
from switchboard.core.jobs.sweeper import JobSweeper
from switchboard.core.jobs.workers import WorkerWatch

log = structlog.get_logger(__name__)


@dataclass
class JobRuntime:
    """Starts and stops the jobs machinery of this process."""

    transport: JobTransport
    runner: JobRunner
    sweeper: JobSweeper
    # Whether this process runs jobs when started by the app (no Redis: yes).
    consume_in_app: bool = True
    # Heartbeats (when consuming) or the watch over them (when not); with Redis only.
    workers: WorkerWatch | None = None
    _started: bool = False

    async def start(self, *, consume: bool, sweep: bool = True) -> None:
        """Connect the transport, optionally receive and run jobs, recover and sweep."""
        await self.transport.start(self.runner.run if consume else None)
        self._started = True
        if self.workers is not None:
            await self.workers.start(consuming=consume)
        if not sweep:
            return
        try:
            await self.sweeper.recover()
        except (SQLAlchemyError, OSError, SwitchboardError) as exc:
            # Recovery runs again with every sweep; a slow database must not stop start-up.
            log.warning("job_recovery_failed", error=type(exc).__name__)
        self.sweeper.start()

    async def stop(self) -> None:
        """Stop sweeping and receiving; running jobs finish or are handed back."""
        await self.sweeper.aclose()
        if self.workers is not None:
            # First: a worker that is stopping takes no new job, so it no longer counts.
            await self.workers.aclose()
        if self._started:
            await self.transport.stop()
            self._started = False
