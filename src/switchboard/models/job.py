"""jobs: durable background work; the row is the truth, the queue only carries its id."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn, Timestamps


class Job(Timestamps, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_jobs_status_run_at", "status", "run_at"),
        Index("ix_jobs_user_created", "user_id", "created_at"),
    )

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    type: Mapped[str] = mapped_column(String(64))
    # pending | running | completed | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[float] = mapped_column(default=0.0)
    progress_message: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    estimated_cost: Mapped[float | None]
    actual_cost: Mapped[float | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # Not before this moment (scheduled and retried-with-backoff jobs).
    run_at: Mapped[datetime | None]
    # While running: who holds it and until when; a lapsed lease means the worker died.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    schedule_id: Mapped[str | None] = mapped_column(String(36))
    source: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
