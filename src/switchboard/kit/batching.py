"""Answering the calls of the same moment with one call: one statement, one round trip.

Work that arrives in bursts (a worker's stream read hands it up to 16 job ids at once,
so their claims, finishes, events and acknowledgements come at the same moment) is
sent as one batch instead of one round trip per item. Generic asyncio plumbing: the
job runner and the Redis queue adapter both use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

# The most items that share one call.
BATCH_LIMIT = 100

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """Answers the calls made in the same moment with one call of `flush(items)`.

    `submit` queues an item and waits; a drain task, started by the first item, yields
    once to the loop (so that the other deliveries of the same moment join), then
    flushes up to `limit` items at once and answers each caller. A caller cancelled
    while waiting leaves its answer to `orphaned`. When `flush` raises, every caller
    of that batch gets the error.
    """

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        limit: int = BATCH_LIMIT,
        orphaned: Callable[[T, R], None] | None = None,
    ) -> None:
        self._flush = flush
        self._limit = limit
        self._orphaned = orphaned
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """`item`'s answer from the next flush."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        drainer = self._drainer
        if drainer is None or drainer.done() or drainer.get_loop() is not loop:
            self._drainer = asyncio.create_task(self._drain(), name="coalesced-batch")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            await asyncio.sleep(0)
            batch, self._pending = self._pending[: self._limit], self._pending[self._limit :]
            try:
                # The flush's error, if any, is returned rather than raised: it is the
                # answer of every caller in the batch.
                (outcome,) = await asyncio.gather(
                    self._flush([item for item, _ in batch]), return_exceptions=True
                )
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            self._answer(batch, outcome)

    def _answer(
        self, batch: list[tuple[T, asyncio.Future[R]]], outcome: Sequence[R] | BaseException
    ) -> None:
        if isinstance(outcome, BaseException):
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(outcome, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(outcome)
            return
        for (item, future), answer in zip(batch, outcome, strict=True):
            if not future.done():
                future.set_result(answer)
            elif self._orphaned is not None:
                self._orphaned(item, answer)
