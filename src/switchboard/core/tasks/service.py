"""A user's tasks and results, inside the caller's unit of work.

A task is a row of its own (name, type, provider, prompt, options, client retries) that
shares its id with the job running it; the job row is the truth for status, progress,
error and timings, and its events on the bus (`task:{id}`, `user:{owner}`) are the
task's. Deleting a finished task deletes its job, which takes the task, its result and
its files with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.events.ports import EventBus
from switchboard.core.jobs.errors import JobNotFound, JobStateConflict
from switchboard.core.jobs.schemas import JobCreate
from switchboard.core.jobs.service import JobService
from switchboard.core.media.schemas import MediaDownload
from switchboard.core.media.service import MediaService
from switchboard.core.tasks.errors import ResultNotFound, TaskNotFound, TaskStateConflict
from switchboard.core.tasks.events import publish_task_created
from switchboard.core.tasks.plans import plan
from switchboard.core.tasks.repository import ResultRepository, TaskRepository, result_read
from switchboard.core.tasks.schemas import (
    Produced,
    ResultRead,
    TaskCreate,
    TaskFilter,
    TaskRead,
    TaskStatus,
    TaskType,
)
from switchboard.kit.db import AfterCommit
from switchboard.kit.ids import canonical_id
from switchboard.kit.pagination import Page, clamp_offset
from switchboard.models import Result, Task

SPOONFEEDER_TASK = "spoonfeeder_task"
MAX_PAGE = 100
# The most tasks one export holds: beyond it, narrow the dates.
MAX_EXPORT = 10_000


class TaskService:
    """Creating, reading, cancelling, retrying and deleting a user's tasks."""

    def __init__(
        self,
        session: AsyncSession,
        jobs: JobService,
        bus: EventBus,
        *,
        after_commit: Callable[[AfterCommit], None],
    ) -> None:
        self._tasks = TaskRepository(session)
        self._jobs = jobs
        self._bus = bus
        self._after_commit = after_commit

    async def create(self, owner_id: str, data: TaskCreate, *, source: str) -> TaskRead:
        """Create a task and the job that runs it (queued once the caller commits, just
        after `task.created` is published); `InvalidTask` when its provider or options
        cannot run."""
        plan(data.type, data.provider, data.prompt, data.options)
        created: list[TaskRead] = []

        async def announce() -> None:
            await publish_task_created(self._bus, owner_id, created[0])

        # Registered before the job's own after-commit work, so the task is announced
        # before its job can start: `task.created` comes before the job's events.
        self._after_commit(announce)
        job = await self._jobs.create(owner_id, JobCreate(type=SPOONFEEDER_TASK, source=source))
        self._tasks.add(
            Task(
                id=job.id,
                user_id=owner_id,
                name=data.name,
                type=data.type.value,
                provider=data.provider,
                prompt=data.prompt,
                options=data.options,
            )
        )
        await self._tasks.flush()
        created.append(await self.get(owner_id, job.id))
        return created[0]

    async def get(self, owner_id: str, task_id: str) -> TaskRead:
        """One of the user's tasks; `TaskNotFound` for anyone else's."""
        key = canonical_id(task_id)
        found = await self._tasks.get(owner_id, key) if key else None
        if found is None:
            raise TaskNotFound(task_id)
        return found

    async def list_tasks(
        self, owner_id: str, found: TaskFilter, *, limit: int = 20, offset: int = 0
    ) -> Page[TaskRead]:
        """The user's tasks that `found` selects, newest first."""
        rows, total = await self._tasks.page(
            owner_id, found, limit=min(max(limit, 1), MAX_PAGE), offset=clamp_offset(offset)
        )
        return Page(rows, total=total)

    async def export(self, owner_id: str, found: TaskFilter) -> list[TaskRead]:
        """Every task `found` selects (at most `MAX_EXPORT`), newest first."""
        rows, _ = await self._tasks.page(owner_id, found, limit=MAX_EXPORT, offset=0)
        return rows

    async def remove(self, owner_id: str, task_id: str) -> TaskStatus:
        """Cancel a pending or running task (it stays, `cancelled`); delete a finished
        one with its result and files. The status the task had."""
        task = await self.get(owner_id, task_id)
        try:
            if task.status in (TaskStatus.PENDING, TaskStatus.RUNNING):
                await self._jobs.cancel(owner_id, task.id)
            else:
                await self._jobs.delete(owner_id, task.id)
        except JobNotFound:
            raise TaskNotFound(task_id) from None
        except JobStateConflict:
            # It started or finished meanwhile.
            raise TaskStateConflict(
                f"Task {task_id} changed state meanwhile; try again", param="id"
            ) from None
        return task.status

    async def retry(self, owner_id: str, task_id: str) -> TaskRead:
        """Run a failed task again from the start; its `retry_count` goes up by one."""
        task = await self.get(owner_id, task_id)
        if task.status is not TaskStatus.FAILED:
            raise TaskStateConflict(
                f"Only failed tasks can be retried (task {task_id} is {task.status.value})",
                param="id",
            )
        try:
            await self._jobs.retry(owner_id, task.id)
        except JobStateConflict:
            raise TaskStateConflict(f"Task {task_id} is no longer failed", param="id") from None
        row = await self._tasks.task(owner_id, task.id)
        if row is None:
            raise TaskNotFound(task_id)
        row.retry_count += 1
        await self._tasks.flush()
        return await self.get(owner_id, task.id)


@dataclass(frozen=True, slots=True)
class ResultDownload:
    """A result ready to send: text, or a stored file with its headers."""

    result: ResultRead
    text: str | None = None
    media: MediaDownload | None = None


class ResultService:
    """Reading and deleting a user's results; the job handler keeps them."""

    def __init__(self, session: AsyncSession, media: MediaService) -> None:
        self._results = ResultRepository(session)
        self._media = media

    async def keep(self, owner_id: str, task_id: str, type: TaskType, produced: Produced) -> str:
        """Store what a task produced as its result (once: a task has one); its id."""
        existing = await self._results.for_task(owner_id, task_id)
        if existing is not None:
            return existing.id
        result = Result(
            user_id=owner_id,
            task_id=task_id,
            type=type.value,
            content=produced.content,
            media_id=produced.media_id,
            details=dict(produced.metadata or {}),
        )
        await self._results.add(result)
        return result.id

    async def for_task(self, owner_id: str, task_id: str) -> str | None:
        """The id of the task's result, if it has one."""
        result = await self._results.for_task(owner_id, task_id)
        return result.id if result else None

    async def list_results(
        self, owner_id: str, type: TaskType | None = None, *, limit: int = 20, offset: int = 0
    ) -> Page[ResultRead]:
        """The user's results (of one type, when given), newest first."""
        rows, total = await self._results.page(
            owner_id, type, limit=min(max(limit, 1), MAX_PAGE), offset=clamp_offset(offset)
        )
        return Page(rows, total=total)

    async def get(self, owner_id: str, result_id: str) -> ResultRead:
        """One of the user's results; `ResultNotFound` for anyone else's."""
        key = canonical_id(result_id)
        found = await self._results.get(owner_id, key) if key else None
        if found is None:
            raise ResultNotFound(result_id)
        return result_read(*found)

    async def download(self, owner_id: str, result_id: str) -> ResultDownload:
        """The result's text, or its file with the headers it must be served with."""
        result = await self.get(owner_id, result_id)
        if result.media_id is None:
            return ResultDownload(result, text=result.content or "")
        return ResultDownload(result, media=await self._media.download(owner_id, result.media_id))

    async def delete(self, owner_id: str, result_id: str) -> None:
        """Delete the result and the files its task produced (bytes after the commit)."""
        result = await self.get(owner_id, result_id)
        await self._media.remove_for_job(owner_id, result.task_id)
        await self._results.delete(owner_id, result.id)
