"""What keeps a streaming reply from being lost with its replica.

While a reply streams, its text so far is saved every `flush_interval_seconds` or
`flush_bytes` of new text, whichever comes first, and the row carries a lease: this
replica's id and a deadline, extended by every flush and by a heartbeat of all the
replica's streaming rows. A replica that dies (`kill -9`, a lost machine) stops renewing;
once the lease lapses, the sweep (at start and periodically, on every replica) finishes
the row as `partial` with reason `server_restart` and the text flushed so far.

This is the jobs engine's pattern (`core.jobs.leases`): the row is the truth and each
write is a conditional UPDATE guarded by the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy.exc import SQLAlchemyError

from switchboard.core.conversations.lease_repository import StreamingRows
from switchboard.kit.clock import Clock, utcnow
from switchboard.kit.ids import new_id

log = structlog.get_logger(__name__)

SERVER_RESTART = "server_restart"
# A lease spans this many flush intervals (and never less than MIN_LEASE_SECONDS), so
# that a replica briefly stalled (a long GC pause, a slow database) keeps its replies.
LEASE_INTERVALS = 10
MIN_LEASE_SECONDS = 2.0

Monotonic = Callable[[], float]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StreamPersistence:
    """How often a streaming reply's text is saved, and how long its lease lasts."""

    flush_interval_seconds: float = 1.0
    flush_bytes: int = 2048
    lease_seconds: float = 10.0

    @classmethod
    def from_flush(cls, interval_seconds: float, flush_bytes: int) -> StreamPersistence:
        """The settings' flush cadence, with the lease derived from it."""
        lease = max(MIN_LEASE_SECONDS, LEASE_INTERVALS * interval_seconds)
        return cls(interval_seconds, flush_bytes, lease)

    @property
    def sweep_interval_seconds(self) -> float:
        """How often every replica looks for replies whose replica is gone."""
        return self.lease_seconds / 2


class PendingText:
    """One reply's text, and whether the part not yet saved is due to be saved."""

    def __init__(self, interval: float, max_bytes: int, monotonic: Monotonic) -> None:
        self._interval = interval
        self._max_bytes = max_bytes
        self._monotonic = monotonic
        self._parts: list[str] = []
        self._unsaved_bytes = 0
        self._saved_at = monotonic()

    def add(self, text: str) -> None:
        """Append a delta."""
        self._parts.append(text)
        self._unsaved_bytes += len(text.encode())

    @property
    def text(self) -> str:
        """Everything received so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def due(self) -> bool:
        """True when unsaved text is `max_bytes` or more, or older than `interval`."""
        if self._unsaved_bytes == 0:
            return False
        waited = self._monotonic() - self._saved_at
        return self._unsaved_bytes >= self._max_bytes or waited >= self._interval

    def take(self) -> str:
        """The text to save now; what it holds counts as saved from this moment."""
        self._unsaved_bytes = 0
        self._saved_at = self._monotonic()
        return self.text


@dataclass
class LiveReply:
    """A reply this replica is streaming: its row, its text and its flush in flight."""

    message_id: str
    pending: PendingText
    flushing: asyncio.Task[None] | None = field(default=None)


class ReplyLeases:
    """This replica's streaming replies: flushes, the heartbeat and the sweep."""

    def __init__(
        self,
        rows: StreamingRows,
        options: StreamPersistence | None = None,
        *,
        replica: str | None = None,
        clock: Clock = utcnow,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self._rows = rows
        self.options = options or StreamPersistence()
        # Like a job runner's id: host and process, plus a suffix so that a restarted
        # process reusing a pid is a different replica.
        self.replica = replica or f"{socket.gethostname()}:{os.getpid()}/{new_id()[-8:]}"
        self._clock = clock
        self._monotonic = monotonic
        self._live: dict[str, LiveReply] = {}
        self._swept_at: float | None = None

    def lease_until(self) -> datetime:
        """The deadline a lease written now carries."""
        return self._clock() + timedelta(seconds=self.options.lease_seconds)

    def track(self, message_id: str) -> LiveReply:
        """Start saving the text of `message_id` as it streams."""
        live = LiveReply(
            message_id,
            PendingText(
                self.options.flush_interval_seconds, self.options.flush_bytes, self._monotonic
            ),
        )
        self._live[message_id] = live
        return live

    def add(self, live: LiveReply, text: str) -> None:
        """Record a delta, and start a flush when one is due (never two at once)."""
        live.pending.add(text)
        self._flush_if_due(live)

    async def release(self, live: LiveReply) -> None:
        """Stop tracking `live`; waits for its flush in flight, so that the final write
        comes after it (a flush never touches a finished row anyway)."""
        self._live.pop(live.message_id, None)
        if live.flushing is not None:
            await asyncio.gather(live.flushing, return_exceptions=True)

    async def settle(self) -> None:
        """Wait for the flushes in flight."""
        flushing = [live.flushing for live in self._live.values() if live.flushing is not None]
        await asyncio.gather(*flushing, return_exceptions=True)

    async def tick(self) -> None:
        """One heartbeat: flush what is due, renew this replica's leases, and sweep
        when a sweep is due."""
        for live in list(self._live.values()):
            self._flush_if_due(live)
        if self._live:
            await _guarded(self._rows.renew(self.replica, self.lease_until()))
        now = self._monotonic()
        if self._swept_at is None or now - self._swept_at >= self.options.sweep_interval_seconds:
            await self.sweep()

    async def sweep(self) -> list[str]:
        """Finish replies whose replica is gone (see the module docstring)."""
        self._swept_at = self._monotonic()
        swept = await _guarded(self._rows.sweep(self._clock(), SERVER_RESTART))
        if swept:
            log.warning("replies_swept", count=len(swept), reason=SERVER_RESTART)
        return swept or []

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeats every flush interval until `stop` is set. Stopped, never cancelled:
        a database call cancelled halfway leaves its connection to the garbage collector."""
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.options.flush_interval_seconds)

    def _flush_if_due(self, live: LiveReply) -> None:
        if live.flushing is not None or not live.pending.due():
            return
        text = live.pending.take()
        live.flushing = asyncio.create_task(self._flush(live, text), name="reply-flush")

    async def _flush(self, live: LiveReply, text: str) -> None:
        try:
            await _guarded(
                self._rows.flush(live.message_id, self.replica, text, self.lease_until())
            )
        finally:
            live.flushing = None


async def _guarded(work: Awaitable[T]) -> T | None:
    # A failed flush or heartbeat must not end the reply: the next one retries.
    try:
        return await work
    except SQLAlchemyError as exc:
        log.warning("reply_lease_write_failed", error=type(exc).__name__)
        return None
