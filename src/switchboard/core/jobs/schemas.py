"""Jobs as the core hands them out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobStatus(StrEnum):
    """A job's state: pending → running → completed | failed | cancelled."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the states a job never leaves on its own."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobRequest(BaseModel):
    """What a client may ask for through the native jobs API: a public type and its
    parameters. Everything else about the job is the server's to decide."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, max_length=200)
    run_at: datetime | None = None


class JobCreate(BaseModel):
    """Background work of a registered type, as a domain creates it (cost, attempts and
    source are set by the server, never taken from a client)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, max_length=200)
    run_at: datetime | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    estimated_cost: float | None = None
    source: str | None = None


class JobRead(BaseModel):
    """A job as any face may show it to its owner."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: str
    type: str
    status: JobStatus
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    error_code: str | None
    progress: float
    progress_message: str | None
    attempts: int
    max_attempts: int
    estimated_cost: float | None
    actual_cost: float | None
    idempotency_key: str | None
    run_at: datetime | None
    source: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ScheduleCreate(BaseModel):
    """A recurring job of a public type: `cron` is a five-field cron expression (so it
    fires at most once a minute), evaluated in `timezone`."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    cron: str = Field(min_length=9, max_length=100)
    timezone: str = "UTC"
    name: str | None = Field(default=None, max_length=200)


class ScheduleRead(BaseModel):
    """A recurring job definition."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: str
    type: str
    params: dict[str, Any]
    cron: str
    timezone: str
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    name: str | None
    source: str | None
    created_at: datetime
