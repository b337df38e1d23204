"""provider_connections: a user's credentials for one provider, bound to one origin.

What the server decides about a connection has a column of its own; `settings` holds only
what the client wrote (PocketLLM's `metadata`) and is never read for a decision.
"""

from typing import Any

from sqlalchemy import String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn, Timestamps


class ProviderConnection(Timestamps, Base):
    __tablename__ = "provider_connections"
    __table_args__ = (UniqueConstraint("user_id", "provider", "label"),)

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    provider: Mapped[str] = mapped_column(String(64))
    # "default" for the user's own connection; "chat:<id>" for a key given with one chat.
    label: Mapped[str] = mapped_column(String(100), default="default")
    base_url: Mapped[str | None] = mapped_column(String(2048))
    # scheme://host:port the key was saved for; the key is never sent anywhere else.
    key_origin: Mapped[str | None] = mapped_column(String(2048))
    encrypted_key: Mapped[str | None] = mapped_column(Text)
    key_preview: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(default=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    # Whether the base URL may reach private and loopback addresses: set by the server
    # only (the outbound policy at save), never from client data.
    private_ok: Mapped[bool] = mapped_column(default=False, server_default=false())
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
