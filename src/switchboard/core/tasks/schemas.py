"""Tasks and results as the core hands them out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from switchboard.core.jobs.schemas import JobStatus

MAX_NAME = 200
MAX_PROMPT = 20_000


class TaskType(StrEnum):
    """What a task generates."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class TaskStatus(StrEnum):
    """A task's state, read from its job (`completed` is `complete` here)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    CANCELLED = "cancelled"


STATUS_OF_JOB: dict[JobStatus, TaskStatus] = {
    JobStatus.PENDING: TaskStatus.PENDING,
    JobStatus.RUNNING: TaskStatus.RUNNING,
    JobStatus.COMPLETED: TaskStatus.COMPLETE,
    JobStatus.FAILED: TaskStatus.FAILED,
    JobStatus.CANCELLED: TaskStatus.CANCELLED,
}
JOB_STATUS_OF: dict[TaskStatus, JobStatus] = {task: job for job, task in STATUS_OF_JOB.items()}
# What the history shows: tasks that ran to an end of their own.
HISTORY_STATUSES = (TaskStatus.COMPLETE, TaskStatus.FAILED)


class TaskCreate(BaseModel):
    """A task as a client asks for it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME)
    type: TaskType
    provider: str = Field(min_length=1, max_length=64)
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    options: dict[str, Any] = Field(default_factory=dict)


class TaskRead(BaseModel):
    """A task with its job's state."""

    id: str
    name: str
    type: TaskType
    provider: str
    prompt: str
    options: dict[str, Any]
    status: TaskStatus
    progress: float
    progress_message: str | None
    error: str | None
    retry_count: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which of a user's tasks a listing shows; `search` matches name or prompt."""

    status: TaskStatus | None = None
    type: TaskType | None = None
    provider: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None
    history: bool = False


class ResultRead(BaseModel):
    """What a task produced, with the task's name, provider and prompt."""

    id: str
    task_id: str
    type: TaskType
    content: str | None
    media_id: str | None
    metadata: dict[str, Any]
    created_at: datetime
    task_name: str
    task_provider: str
    task_prompt: str


@dataclass(frozen=True, slots=True)
class Produced:
    """What running a task made, before it is kept as a result."""

    content: str | None = None
    media_id: str | None = None
    metadata: dict[str, Any] | None = None
