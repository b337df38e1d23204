"""refresh_tokens: opaque, stored as a hash, each usable once."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.clock import utcnow
from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[IdColumn]
    session_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # Set when the token is exchanged; a second exchange is reuse and revokes the family.
    used_at: Mapped[datetime | None]
