"""What ends a live event stream early: the server draining, or its credential lapsing.

A live stream (SSE, WebSocket, a Socket.IO connection) can outlive the credential it was
opened with: an access token expires, an API key or a session is revoked. The guard
checks the credential again every heartbeat (through the same chain that admitted it,
so revocation is seen as every request sees it) and trips once it no longer holds, or
once the server starts draining; the stream then ends with one closing event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError

from switchboard.api.draining import Draining, Tripped, Tripwire, until_tripped
from switchboard.core.errors import ErrorKind, SwitchboardError
from switchboard.core.events.schemas import Event

log = structlog.get_logger(__name__)

CLOSED = "stream.closed"
CREDENTIAL_KINDS = (ErrorKind.UNAUTHENTICATED, ErrorKind.PERMISSION_DENIED)

Recheck = Callable[[], Awaitable[object]]
"""Authenticates the stream's credential again; raises `SwitchboardError` when it no
longer holds."""


@dataclass(frozen=True, slots=True)
class StreamGuard:
    """The app's draining, and how (and how often) to check the credential again."""

    draining: Draining
    recheck: Recheck | None = None
    interval: float = 15.0

    def watch(self) -> tuple[Tripwire, Callable[[], None]]:
        """A tripwire set on draining or on a failed re-check, and how to stop watching."""
        wire = Tripwire()
        undo = self.draining.on_set(lambda: wire.set(self.draining.reason))
        task = (
            asyncio.create_task(_rechecks(wire, self.recheck, self.interval), name="recheck")
            if self.recheck is not None
            else None
        )

        def stop() -> None:
            undo()
            if task is not None:
                task.cancel()

        return wire, stop


def closed_event(topic: str, reason: str) -> Event:
    """The last event of a stream ended early: `stream.closed` with `{reason}`."""
    return Event(topic=topic, type=CLOSED, data={"reason": reason})


async def guarded(
    source: AsyncIterable[Event], guard: StreamGuard, topic: str
) -> AsyncIterator[Event]:
    """`source`'s events, ended by one `stream.closed` event when the guard trips."""
    wire, stop = guard.watch()
    try:
        async for event in until_tripped(aiter(source), wire):
            yield event
    except Tripped as tripped:
        yield closed_event(topic, tripped.reason)
    finally:
        stop()


async def _rechecks(wire: Tripwire, recheck: Recheck, interval: float) -> None:
    while not wire.is_set():
        await asyncio.sleep(interval)
        # Shielded: a stream ending mid-check must not cancel a database call halfway
        # (its connection would be left to the garbage collector).
        reason = await asyncio.shield(credential_problem(recheck))
        if reason is not None:
            wire.set(reason)


async def credential_problem(recheck: Recheck) -> str | None:
    """Why the credential no longer holds (its error code), or None when it does.

    Anything but a credential refusal (the database briefly away) keeps the stream:
    the next heartbeat checks again."""
    try:
        await recheck()
    except SwitchboardError as exc:
        if exc.kind in CREDENTIAL_KINDS:
            log.info("stream_credential_lapsed", code=exc.code)
            return exc.code
        return None
    except (OSError, SQLAlchemyError) as exc:
        # The database or cache unreachable: say so, and try again at the next heartbeat.
        log.warning("stream_recheck_failed", error=type(exc).__name__)
        return None
    return None
