"""Tasks that run on the jobs engine, and their history.

A task's id is the id of the job running it, so its events on the bus (`task:{id}`) are
the task's. `/tasks/history` is declared before `/tasks/{task_id}`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Query, Response

from switchboard.api.context import ServicesDep
from switchboard.api.inputs import Offset
from switchboard.api.openapi import raises
from switchboard.core.errors import ErrorKind
from switchboard.core.tasks.schemas import TaskCreate, TaskFilter, TaskStatus, TaskType
from switchboard.faces.spoonfeeder import tasks_wire as wire
from switchboard.faces.spoonfeeder.auth import SOURCE, PrincipalDep
from switchboard.faces.spoonfeeder.envelope import done, ok, paged
from switchboard.faces.spoonfeeder.routes.common import (
    DEFAULT_LIMIT,
    Limit,
    Page,
    admit,
    api_router,
)
from switchboard.kit.clock import utcnow

router = api_router(admit("jobs"))

Provider = Annotated[str | None, Query(min_length=1, max_length=64)]
DateFrom = Annotated[wire.Moment | None, Query(alias="dateFrom")]
DateTo = Annotated[wire.Moment | None, Query(alias="dateTo")]
SearchQuery = Annotated[str | None, Query(max_length=200)]


@router.get("/tasks", response_model=None)
async def list_tasks(
    principal: PrincipalDep,
    services: ServicesDep,
    status: TaskStatus | None = None,
    provider: Provider = None,
    type: TaskType | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    page: Page | None = None,
) -> Response:
    """The caller's tasks, newest first (`limit`/`offset`, or `page`)."""
    shown, skip = wire.window(page, limit, offset)
    found = TaskFilter(status=status, type=type, provider=provider)
    listed = await services.tasks.list_tasks(principal.user_id, found, limit=limit, offset=skip)
    data = [wire.task_json(t) for t in listed.items]
    return paged(data, page=shown, limit=limit, total=listed.total or 0)


@router.post(
    "/tasks",
    response_model=None,
    status_code=201,
    openapi_extra=raises(ErrorKind.INVALID, ErrorKind.RATE_LIMITED),
)
async def create_task(body: TaskCreate, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Create a task; its job runs it and keeps its output as a result."""
    task = await services.tasks.create(principal.user_id, body, source=SOURCE)
    return ok(wire.task_json(task), 201)


def _history_filter(
    date_from: date | datetime | None,
    date_to: date | datetime | None,
    *,
    provider: str | None = None,
    type: TaskType | None = None,
    status: TaskStatus | None = None,
    search: str | None = None,
) -> TaskFilter:
    return TaskFilter(
        status=status,
        type=type,
        provider=provider,
        created_from=wire.parse_moment(date_from),
        created_before=wire.parse_moment(date_to, end=True),
        search=search.strip() if search and search.strip() else None,
        history=True,
    )


@router.get("/tasks/history", response_model=None)
async def task_history(
    principal: PrincipalDep,
    services: ServicesDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    provider: Provider = None,
    type: TaskType | None = None,
    status: TaskStatus | None = None,
    search: SearchQuery = None,
    page: Page = 1,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """Finished tasks (complete or failed), filtered, searched in name and prompt."""
    found = _history_filter(
        date_from, date_to, provider=provider, type=type, status=status, search=search
    )
    skip = (page - 1) * limit
    listed = await services.tasks.list_tasks(principal.user_id, found, limit=limit, offset=skip)
    data = [wire.task_json(t) for t in listed.items]
    return paged(data, page=page, limit=limit, total=listed.total or 0)


@router.get(
    "/tasks/history/export",
    response_model=None,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_history(
    principal: PrincipalDep,
    services: ServicesDep,
    format: Literal["csv", "json"] = "json",
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> Response:
    """The finished tasks between the dates: JSON in the envelope, or a CSV download."""
    found = _history_filter(date_from, date_to)
    tasks = await services.tasks.export(principal.user_id, found)
    if format == "csv":
        return Response(
            content=wire.tasks_csv(tasks),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{wire.CSV_FILENAME}"',
                "X-Content-Type-Options": "nosniff",
            },
        )
    content = [wire.task_json(t) for t in tasks]
    return ok({"filename": wire.export_filename(utcnow().date()), "content": content})


@router.get("/tasks/{task_id}", response_model=None)
async def get_task(task_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """One of the caller's tasks."""
    return ok(wire.task_json(await services.tasks.get(principal.user_id, task_id)))


@router.delete("/tasks/{task_id}", response_model=None, openapi_extra=raises(ErrorKind.INVALID))
async def delete_task(task_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Cancel a pending or running task; delete a finished one with its result."""
    was = await services.tasks.remove(principal.user_id, task_id)
    if was in (TaskStatus.PENDING, TaskStatus.RUNNING):
        return done("Task cancelled")
    return done("Task deleted")


@router.post(
    "/tasks/{task_id}/retry",
    response_model=None,
    openapi_extra=raises(ErrorKind.INVALID, ErrorKind.RATE_LIMITED),
)
async def retry_task(task_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Queue a failed task again; `retryCount` counts these retries."""
    task = await services.tasks.retry(principal.user_id, task_id)
    return ok({"id": task.id, "status": task.status.value, "retryCount": task.retry_count})
