"""tasks: Spoon Feeder's generation tasks; each runs as the job that shares its id."""

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import OwnerColumn, Timestamps


class Task(Timestamps, Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_user_created", "user_id", "created_at"),)

    # The id of the job that runs it: the job row holds status, progress, error and
    # timings, and deleting the job deletes the task.
    id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[OwnerColumn]
    name: Mapped[str] = mapped_column(String(200))
    # text | image | video | audio
    type: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Retries a client asked for (not the jobs engine's own attempts).
    retry_count: Mapped[int] = mapped_column(default=0)
