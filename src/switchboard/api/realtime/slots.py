"""The cap on concurrent streams per user (`SWITCHBOARD_MAX_STREAMS_PER_USER`).

A stream holds a slot from the moment it is admitted until its body ends (finished,
failed, client gone, or never started). The count is per process: with several
replicas a user may hold up to the cap on each of them. A refusal is `RateLimited`
(429 with `Retry-After` in the face's envelope), raised before any work is done.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar

from starlette.applications import Starlette

from switchboard.api.realtime.closing import close_source
from switchboard.core.errors import RateLimited

T = TypeVar("T")
DEFAULT_MAX_STREAMS = 32
# Streams end at any moment, so a refused client may try again soon.
RETRY_AFTER_SECONDS = 5
_STATE_KEY = "stream_slots"


class TooManyStreams(RateLimited):
    """The user already holds as many open streams as the cap allows."""

    default_code = "too_many_streams"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Too many concurrent streams (at most {limit} per user); close one and retry",
            retry_after=RETRY_AFTER_SECONDS,
        )


class Slot:
    """One admitted stream; `release` is idempotent."""

    def __init__(self, slots: StreamSlots, user_id: str) -> None:
        self._slots = slots
        self._user_id = user_id
        self._held = True

    def release(self) -> None:
        """Give the slot back."""
        if self._held:
            self._held = False
            self._slots._release(self._user_id)


class StreamSlots:
    """Open streams per user in this process; a limit of 0 turns the cap off."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, user_id: str) -> Slot:
        """A slot for a new stream of `user_id`; `TooManyStreams` when they hold the cap."""
        held = self._open.get(user_id, 0)
        if self.limit and held >= self.limit:
            raise TooManyStreams(self.limit)
        self._open[user_id] = held + 1
        return Slot(self, user_id)

    def open_streams(self, user_id: str) -> int:
        """How many streams `user_id` holds here."""
        return self._open.get(user_id, 0)

    def total(self) -> int:
        """How many streams are open here, all users together."""
        return sum(self._open.values())

    def _release(self, user_id: str) -> None:
        left = self._open.get(user_id, 0) - 1
        if left > 0:
            self._open[user_id] = left
        else:
            self._open.pop(user_id, None)


def install_stream_slots(app: Starlette, limit: int) -> StreamSlots:
    """Give `app` a cap of `limit` streams per user (the composition root does this)."""
    slots = StreamSlots(limit)
    setattr(app.state, _STATE_KEY, slots)
    return slots


def stream_slots(app: Starlette) -> StreamSlots:
    """The app's stream cap (the default one when none was installed)."""
    found: StreamSlots | None = getattr(app.state, _STATE_KEY, None)
    return found if found is not None else install_stream_slots(app, DEFAULT_MAX_STREAMS)


def holding(source: AsyncIterable[T], slot: Slot) -> AsyncIterator[T]:
    """`source`, releasing `slot` when it ends; also when it is dropped unstarted (a
    client gone before the body began), which no `finally` of its own would see."""
    body = _holding(source, slot)
    weakref.finalize(body, slot.release)
    return body


async def _holding(source: AsyncIterable[T], slot: Slot) -> AsyncIterator[T]:
    try:
        async for item in source:
            yield item
    finally:
        slot.release()
        await close_source(source)
