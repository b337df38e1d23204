"""saved_models: models a user imported into their workspace, at most one default."""

from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn, Timestamps


class SavedModel(Timestamps, Base):
    __tablename__ = "saved_models"

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(64))
    # The provider's own model id (e.g. "openrouter/gpt-4o-mini" for OpenRouter).
    model: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(default=False)
    connection_id: Mapped[str | None] = mapped_column(String(36))
    # temperature, systemPrompt ...: never a secret.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
