"""results: what a finished task produced (text, or a stored media file)."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.clock import utcnow
from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn


class Result(Base):
    __tablename__ = "results"
    __table_args__ = (Index("ix_results_user_created", "user_id", "created_at"),)

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    task_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("tasks.id", ondelete="CASCADE"), unique=True
    )
    # text | image | video | audio
    type: Mapped[str] = mapped_column(String(16))
    # A text result's reply; media results keep their file in `media_id`.
    content: Mapped[str | None] = mapped_column(Text)
    media_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("media_files.id", ondelete="SET NULL")
    )
    # `metadata` is reserved on declarative classes: the attribute has another name.
    details: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
