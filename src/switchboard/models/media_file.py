"""media_files: stored files (generated images, uploads), served only to their owner."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.clock import utcnow
from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn


class MediaFile(Base):
    __tablename__ = "media_files"

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    job_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32), default="image")
    mime_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    # Where the storage adapter keeps it; never derived from user input.
    storage_key: Mapped[str] = mapped_column(String(500), unique=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
