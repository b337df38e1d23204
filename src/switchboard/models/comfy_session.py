"""comfy_sessions: a user's groups of ComfyUI generations (like chat conversations)."""

from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn, Timestamps


class ComfySession(Timestamps, Base):
    __tablename__ = "comfy_sessions"
    __table_args__ = (Index("ix_comfy_sessions_user_updated", "user_id", "updated_at"),)

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    # A Spoon Feeder profile's id, kept as the client gave it (profiles live elsewhere).
    profile_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    current_workflow_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("comfy_workflows.id", ondelete="SET NULL")
    )
    # The parameters of the session's last generation, as asked (a seed of -1 stays -1).
    last_parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
