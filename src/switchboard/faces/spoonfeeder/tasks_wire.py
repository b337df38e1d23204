"""Tasks and results on Spoon Feeder's wire: JSON shapes, date filters, CSV export.

No I/O: routes hand in core reads and get plain JSON values or text back.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

from switchboard.core.tasks.schemas import ResultRead, TaskRead
from switchboard.kit.clock import as_utc, iso_z

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
CSV_COLUMNS = ("id", "name", "type", "provider", "status", "created_at", "completed_at")
CSV_FILENAME = "task_history.csv"
# Spreadsheets run cells that start with these as formulas.
FORMULA_STARTS = ("=", "+", "-", "@")


def window(page: int | None, limit: int, offset: int) -> tuple[int, int]:
    """The page shown and the offset read: `page` wins over `offset` when both are given."""
    if page is not None:
        return page, (page - 1) * limit
    return offset // limit + 1, offset


def _iso(value: datetime | None) -> str | None:
    return iso_z(value) if value is not None else None


def task_json(task: TaskRead) -> dict[str, Any]:
    """A task as the document shows it (snake_case fields), with its progress."""
    return {
        "id": task.id,
        "name": task.name,
        "type": task.type.value,
        "provider": task.provider,
        "prompt": task.prompt,
        "options": task.options,
        "status": task.status.value,
        "progress": task.progress,
        "progress_message": task.progress_message,
        "error": task.error,
        "retry_count": task.retry_count,
        "created_at": iso_z(task.created_at),
        "updated_at": iso_z(task.updated_at),
        "started_at": _iso(task.started_at),
        "completed_at": _iso(task.completed_at),
    }


def download_path(result_id: str) -> str:
    """Where a media result's file is served."""
    return f"/api/results/{result_id}/download"


def result_json(result: ResultRead, *, with_prompt: bool = False) -> dict[str, Any]:
    """A result as the document shows it; a media result's `content` is its download path."""
    content = download_path(result.id) if result.media_id else result.content
    data: dict[str, Any] = {
        "id": result.id,
        "task_id": result.task_id,
        "type": result.type.value,
        "content": content,
        "metadata": result.metadata,
        "created_at": iso_z(result.created_at),
        "task_name": result.task_name,
        "task_provider": result.task_provider,
    }
    if with_prompt:
        data["task_prompt"] = result.task_prompt
    return data


def iso_only(value: object) -> object:
    """Refuse what is not an ISO 8601 date or date-time (pydantic would otherwise take
    a number as a Unix time)."""
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date or date-time")
    return value


Moment = Annotated[date | datetime, BeforeValidator(iso_only)]
"""A date filter's value: `2024-12-14` or `2024-12-14T10:00:00Z`."""


def parse_moment(value: date | datetime | None, *, end: bool = False) -> datetime | None:
    """The moment a date filter names: a bare date as `dateTo` covers its whole day (the
    moment returned is exclusive); naive times are UTC. Moments past what a datetime
    holds stand for the earliest or latest one."""
    if value is None:
        return None
    try:
        if isinstance(value, datetime):
            return as_utc(value)
        moment = datetime.combine(value, time.min, tzinfo=UTC)
        return moment + timedelta(days=1) if end else moment
    except OverflowError:
        extreme = datetime.max if value.year == datetime.max.year else datetime.min
        return extreme.replace(tzinfo=UTC)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def tasks_csv(tasks: list[TaskRead]) -> str:
    """The tasks as CSV with a header row; cells a spreadsheet would run are quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for task in tasks:
        row = task_json(task)
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def export_filename(today: date) -> str:
    """The JSON export's file name, dated."""
    return f"tasks_export_{today.isoformat()}.json"
