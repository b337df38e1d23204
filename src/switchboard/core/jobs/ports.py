"""What the jobs domain needs from outside: a queue that carries job ids, and the
domains that keep what a job produced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol


class JobQueue(Protocol):
    """Delivers job ids to workers at least once. The job row decides what runs."""

    async def enqueue(self, job_id: str, *, delay: float = 0.0) -> None:
        """Deliver `job_id` to a worker, not before `delay` seconds from now."""
        ...

    async def depth(self) -> int | None:
        """Messages waiting, when the transport can tell; None otherwise."""
        ...


class JobOutputs(Protocol):
    """Keeps what jobs produce (files, ...): removed with the job, never served after."""

    async def remove_for_job(self, owner_id: str, job_id: str) -> None:
        """Delete what `job_id` produced, in the caller's unit of work."""
        ...


RunJob = Callable[[str], Awaitable[object]]


class JobTransport(JobQueue, Protocol):
    """A queue with a life cycle: connect to send, and optionally receive and run."""

    async def start(self, run: RunJob | None = None) -> None:
        """Connect; with `run`, also receive job ids and call `run` for each."""
        ...

    async def stop(self) -> None:
        """Stop receiving, let running jobs finish within the grace period, disconnect."""
        ...


class WorkerPresence(Protocol):
    """Where processes that run jobs say they are alive, and where anyone can count them.

    Each worker's beat lasts `ttl_seconds`; a worker that stops beating (killed, hung,
    cut off) stops counting once its last beat lapses. Failures raise `ConnectionError`.
    """

    async def beat(self, worker_id: str, now: datetime, ttl_seconds: float) -> None:
        """`worker_id` is alive from `now` for `ttl_seconds`."""
        ...

    async def leave(self, worker_id: str) -> None:
        """`worker_id` stopped running jobs (a graceful stop)."""
        ...

    async def alive(self, now: datetime) -> list[str]:
        """The workers whose last beat has not lapsed at `now`."""
        ...

    async def aclose(self) -> None:
        """Release the connection."""
        ...


class JobObserver(Protocol):
    """Where runners and sweepers report what they did (metrics)."""

    def job_finished(self, job_type: str, outcome: str, seconds: float) -> None:
        """One execution ended with `outcome` after `seconds`."""
        ...

    def job_retried(self, job_type: str) -> None:
        """One execution failed retryably and was scheduled again."""
        ...

    def jobs_by_status(self, counts: dict[str, int]) -> None:
        """The number of jobs in each status, as the last sweep counted them."""
        ...

    def queue_depth(self, depth: int | None) -> None:
        """Messages waiting in the queue, when the transport can tell."""
        ...


class NullObserver:
    """Reports nowhere."""

    def job_finished(self, job_type: str, outcome: str, seconds: float) -> None:
        """Ignored."""

    def job_retried(self, job_type: str) -> None:
        """Ignored."""

    def jobs_by_status(self, counts: dict[str, int]) -> None:
        """Ignored."""

    def queue_depth(self, depth: int | None) -> None:
        """Ignored."""
