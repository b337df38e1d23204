"""usage_quotas: queries counted per user and calendar month (UTC)."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base


class UsageQuota(Base):
    __tablename__ = "usage_quotas"

    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # "2026-11": a new month starts a new row, which is the monthly reset.
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
