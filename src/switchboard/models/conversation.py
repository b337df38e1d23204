"""conversations: a titled thread with its model settings (never secrets)."""

from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn, Timestamps


class Conversation(Timestamps, Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("user_id", "source", "external_id"),)

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    title: Mapped[str] = mapped_column(String(500), default="New conversation")
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(200))
    system_prompt: Mapped[str | None] = mapped_column(Text)
    # temperature, max_tokens, top_p ...: never an API key.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    connection_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("provider_connections.id", ondelete="SET NULL")
    )
    # The face that created it, so each face can list what its clients expect.
    source: Mapped[str | None] = mapped_column(String(32))
    # A client's own name for the thread (an agent `session_id`, a PocketPaw session key).
    external_id: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Highest message sequence number handed out so far.
    last_seq: Mapped[int] = mapped_column(default=0)
