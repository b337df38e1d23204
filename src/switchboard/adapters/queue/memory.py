"""The default queue: taskiq's in-memory broker, running jobs inside the server."""

from __future__ import annotations

from taskiq import InMemoryBroker

from switchboard.adapters.queue.base import TaskiqJobQueue


class InMemoryJobQueue(TaskiqJobQueue):
    """Jobs run as tasks of this process, at most `concurrency` at a time.

    Nothing survives the process, which is fine: the rows do, and start-up recovery
    queues every pending job again.
    """

    def __init__(
        self,
        *,
        concurrency: int = 16,
        grace_seconds: float = 10.0,
        max_delay_seconds: float = 3600.0,
    ) -> None:
        super().__init__(
            InMemoryBroker(max_stored_results=1, propagate_exceptions=False),
            concurrency=concurrency,
            grace_seconds=grace_seconds,
            max_delay_seconds=max_delay_seconds,
        )
        # Ids waiting for a free slot: a second send of one of them (a sweep finding a
        # long backlog) would only add a message that is bound to be skipped.
        self._waiting: set[str] = set()

    async def depth(self) -> int | None:
        """Jobs waiting for a free slot in this process."""
        return len(self._waiting)

    def _accepting(self) -> bool:
        # Without a consumer a message here would go nowhere.
        return self._connected and self._run is not None and not self._stopping

    async def _send(self, job_id: str) -> None:
        if job_id in self._waiting:
            return
        self._waiting.add(job_id)
        await super()._send(job_id)

    def _starting(self, job_id: str) -> None:
        self._waiting.discard(job_id)
