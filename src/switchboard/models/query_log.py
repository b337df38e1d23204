"""query_logs: one row per analysis request, kept even when the provider failed."""

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.clock import utcnow
from switchboard.kit.db import Base
from switchboard.models._columns import OwnerColumn


class QueryLog(Base):
    __tablename__ = "query_logs"
    __table_args__ = (Index("ix_query_logs_user_created", "user_id", "created_at"),)

    # An integer id, as the PluginMind document shows it.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[OwnerColumn]
    source: Mapped[str] = mapped_column(String(32))
    analysis_type: Mapped[str | None] = mapped_column(String(32))
    user_input: Mapped[str] = mapped_column(Text)
    success: Mapped[bool] = mapped_column(default=False)
    response_time_ms: Mapped[float | None]
    error_message: Mapped[str | None] = mapped_column(String(500))
    job_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
