"""Batched usage recording.

Writing one row per request would put a database transaction on every request's hot
path. Entries are queued in memory and written together, every flush interval or when
the batch fills; `aclose` writes what is left at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError

from switchboard.kit.clock import utcnow

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class UsageEntry:
    """One upstream call's tokens and cost."""

    user_id: str
    source: str
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    kind: str = "chat"
    api_key_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)


WriteBatch = Callable[[Sequence[UsageEntry]], Awaitable[object]]
# A batch that fails this many flushes in a row is dropped (and logged) rather than
# retried forever in front of every later entry.
MAX_ATTEMPTS = 3


class UsageRecorder:
    """Queues usage entries and writes them in batches with `write_batch`."""

    def __init__(
        self, write_batch: WriteBatch, *, interval: float = 0.5, max_batch: int = 500
    ) -> None:
        self._write_batch = write_batch
        self._interval = interval
        self._max_batch = max_batch
        self._pending: list[UsageEntry] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._closing = False

    def record(self, entry: UsageEntry) -> None:
        """Queue `entry`; it is written within one flush interval."""
        self._pending.append(entry)
        if len(self._pending) >= self._max_batch:
            self._wake.set()

    def start(self) -> None:
        """Start the background flusher."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-recorder")

    async def flush(self) -> None:
        """Write everything queued so far."""
        while self._pending:
            batch, self._pending = (
                self._pending[: self._max_batch],
                self._pending[self._max_batch :],
            )
            try:
                await self._write_batch(batch)
            except asyncio.CancelledError:
                # Cancelled from outside mid-write (the loop is being torn down): keep the
                # batch for a final flush rather than losing it.
                self._pending[:0] = batch
                raise
            except (SQLAlchemyError, OSError):
                # A failed write must not kill the flusher; keep the entries for the next
                # flush unless this batch keeps failing.
                self._failures += 1
                dropped = self._failures >= MAX_ATTEMPTS
                log.exception("usage_write_failed", entries=len(batch), dropped=dropped)
                if dropped:
                    self._failures = 0
                else:
                    self._pending[:0] = batch
                return
            self._failures = 0

    async def aclose(self) -> None:
        """Stop the flusher once its current write is done, then write what is left.

        The flusher is never cancelled mid-write: a write cancelled while its commit is
        in flight on the driver's thread may or may not land, and its connection may be
        left holding the database's write lock.
        """
        if self._task is not None:
            self._closing = True
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
            await self.flush()
