"""comfy_workflows: a user's ComfyUI workflows (API-format graphs) with their defaults."""

from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn, Timestamps


class ComfyWorkflow(Timestamps, Base):
    __tablename__ = "comfy_workflows"
    __table_args__ = (Index("ix_comfy_workflows_user_created", "user_id", "created_at"),)

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    # A Spoon Feeder profile's id, kept as the client gave it (profiles live elsewhere).
    profile_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    workflow_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where each known parameter sits in the graph, found when the graph was saved.
    extracted_parameters: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # At most one per user (kept so by the service).
    is_default: Mapped[bool] = mapped_column(default=False)
