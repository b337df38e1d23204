"""What a job handler is given while it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from switchboard.kit.db import UnitOfWork

UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
ProgressReporter = Callable[[float, str | None], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobContext:
    """The running job's identity, its progress channel and fresh units of work.

    Cancellation arrives as `asyncio.CancelledError` in the handler; a handler needs no
    polling of its own.
    """

    job_id: str
    owner_id: str
    type: str
    attempt: int
    units: UnitOfWorkFactory
    report: ProgressReporter

    async def progress(self, fraction: float, message: str | None = None) -> None:
        """Record how far the job has got (0..1) and tell its subscribers."""
        await self.report(min(max(fraction, 0.0), 1.0), message)
