"""messages: append-only rows with a per-conversation sequence number."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.clock import utcnow
from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        Index("ix_messages_status", "status"),
        # The sweep looks for streaming rows whose lease lapsed.
        Index("ix_messages_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[IdColumn]
    conversation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[OwnerColumn]
    seq: Mapped[int]
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    # streaming | complete | partial | error
    status: Mapped[str] = mapped_column(String(16), default="complete")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    cost_usd: Mapped[float | None]
    latency_ms: Mapped[float | None]
    first_token_ms: Mapped[float | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A reply's typed parts (thinking, tool calls and results, text) in order, when it
    # had more than text (`core.turns.parts`); None for a plain reply.
    parts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    # While streaming: the replica producing the reply and until when it vouches for it
    # (renewed with each flush); a lapsed lease means that replica died.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
