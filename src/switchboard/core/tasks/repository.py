"""Tasks (read with their jobs) and results, looked up within their owner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.jobs.schemas import JobStatus
from switchboard.core.tasks.schemas import (
    HISTORY_STATUSES,
    JOB_STATUS_OF,
    STATUS_OF_JOB,
    ResultRead,
    TaskFilter,
    TaskRead,
    TaskType,
)
from switchboard.models import Job, Result, Task

LIKE_ESCAPE = "\\"


def task_read(task: Task, job: Job) -> TaskRead:
    """A task with the state its job holds."""
    return TaskRead(
        id=task.id,
        name=task.name,
        type=TaskType(task.type),
        provider=task.provider,
        prompt=task.prompt,
        options=task.options,
        status=STATUS_OF_JOB[JobStatus(job.status)],
        progress=job.progress,
        progress_message=job.progress_message,
        error=job.error,
        retry_count=task.retry_count,
        created_at=task.created_at,
        updated_at=max(task.updated_at, job.updated_at),
        started_at=job.started_at,
        completed_at=job.finished_at,
    )


def result_read(result: Result, task: Task) -> ResultRead:
    """A result with its task's name, provider and prompt."""
    return ResultRead(
        id=result.id,
        task_id=result.task_id,
        type=TaskType(result.type),
        content=result.content,
        media_id=result.media_id,
        metadata=result.details,
        created_at=result.created_at,
        task_name=task.name,
        task_provider=task.provider,
        task_prompt=task.prompt,
    )


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _where(owner_id: str, found: TaskFilter) -> list[Any]:
    where: list[Any] = [Task.user_id == owner_id]
    if found.history:
        where.append(Job.status.in_([JOB_STATUS_OF[s].value for s in HISTORY_STATUSES]))
    if found.status is not None:
        where.append(Job.status == JOB_STATUS_OF[found.status].value)
    if found.type is not None:
        where.append(Task.type == found.type.value)
    if found.provider is not None:
        where.append(Task.provider == found.provider)
    if found.created_from is not None:
        where.append(Task.created_at >= found.created_from)
    if found.created_before is not None:
        where.append(Task.created_at < found.created_before)
    if found.search:
        pattern = _like(found.search)
        where.append(
            or_(
                func.lower(Task.name).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Task.prompt).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    return where


class TaskRepository:
    """Owner-scoped access to `tasks`, joined to the jobs that run them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, task: Task) -> None:
        """Stage a new task."""
        self._session.add(task)

    async def flush(self) -> None:
        """Write staged changes (inside the caller's transaction)."""
        await self._session.flush()

    async def task(self, owner_id: str, task_id: str) -> Task | None:
        """The task row alone, if `owner_id` owns it."""
        return await self._session.scalar(
            select(Task).where(Task.id == task_id, Task.user_id == owner_id)
        )

    async def get(self, owner_id: str, task_id: str) -> TaskRead | None:
        """The task with its job's state, if `owner_id` owns it."""
        row = (
            await self._session.execute(
                _joined().where(Task.id == task_id, Task.user_id == owner_id)
            )
        ).first()
        return task_read(row[0], row[1]) if row else None

    async def page(
        self, owner_id: str, found: TaskFilter, *, limit: int, offset: int
    ) -> tuple[list[TaskRead], int]:
        """The owner's tasks that `found` selects, newest first, and how many there are."""
        where = _where(owner_id, found)
        total = await self._session.scalar(
            select(func.count()).select_from(Task).join(Job, Job.id == Task.id).where(*where)
        )
        rows = await self._session.execute(
            _joined()
            .where(*where)
            .order_by(Task.created_at.desc(), Task.id)
            .limit(limit)
            .offset(offset)
        )
        return [task_read(task, job) for task, job in rows], int(total or 0)


def _joined() -> Select[Task, Job]:
    return select(Task, Job).join(Job, Job.id == Task.id)


class ResultRepository:
    """Owner-scoped access to `results`, with their tasks."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, result: Result) -> None:
        """Write a new result (inside the caller's transaction)."""
        self._session.add(result)
        await self._session.flush()

    async def for_task(self, owner_id: str, task_id: str) -> Result | None:
        """The task's result, if it has one."""
        return await self._session.scalar(
            select(Result).where(Result.task_id == task_id, Result.user_id == owner_id)
        )

    async def get(self, owner_id: str, result_id: str) -> tuple[Result, Task] | None:
        """The result and its task, if `owner_id` owns them."""
        row = (
            await self._session.execute(
                select(Result, Task)
                .join(Task, Task.id == Result.task_id)
                .where(Result.id == result_id, Result.user_id == owner_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def page(
        self, owner_id: str, type: TaskType | None, *, limit: int, offset: int
    ) -> tuple[list[ResultRead], int]:
        """The owner's results (of one type, when given), newest first, and their total."""
        where: list[Any] = [Result.user_id == owner_id]
        if type is not None:
            where.append(Result.type == type.value)
        total = await self._session.scalar(select(func.count()).select_from(Result).where(*where))
        rows = await self._session.execute(
            select(Result, Task)
            .join(Task, Task.id == Result.task_id)
            .where(*where)
            .order_by(Result.created_at.desc(), Result.id)
            .limit(limit)
            .offset(offset)
        )
        return [result_read(r, t) for r, t in rows], int(total or 0)

    async def delete(self, owner_id: str, result_id: str) -> None:
        """Delete the owner's result row."""
        await self._session.execute(
            delete(Result).where(Result.id == result_id, Result.user_id == owner_id)
        )
