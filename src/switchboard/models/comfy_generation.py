"""comfy_generations: one workflow run on ComfyUI, with the exact graph it submitted."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn, Timestamps


class ComfyGeneration(Timestamps, Base):
    __tablename__ = "comfy_generations"
    __table_args__ = (
        Index("ix_comfy_generations_user_created", "user_id", "created_at"),
        Index("ix_comfy_generations_session", "session_id", "created_at"),
        Index("ix_comfy_generations_workflow", "workflow_id"),
    )

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    session_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("comfy_sessions.id", ondelete="CASCADE")
    )
    workflow_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("comfy_workflows.id", ondelete="SET NULL")
    )
    # The job that follows the run and keeps its images (their media carry its id).
    job_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    prompt_id: Mapped[str] = mapped_column(String(100))
    # The client id ComfyUI sends the prompt's events to.
    client_id: Mapped[str] = mapped_column(String(100))
    prompt_text: Mapped[str] = mapped_column(Text, default="")
    negative_prompt: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    width: Mapped[int | None]
    height: Mapped[int | None]
    steps: Mapped[int | None]
    cfg_scale: Mapped[float | None]
    seed: Mapped[int | None] = mapped_column(BigInteger)
    sampler_name: Mapped[str | None] = mapped_column(String(100))
    scheduler: Mapped[str | None] = mapped_column(String(100))
    batch_size: Mapped[int | None]
    checkpoint_name: Mapped[str | None] = mapped_column(String(500))
    loras_used: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The graph exactly as submitted, for reproduction.
    workflow_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # running | complete | failed
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    generation_time_seconds: Mapped[float | None]
    completed_at: Mapped[datetime | None]
