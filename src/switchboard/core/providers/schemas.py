"""What the providers domain hands out: never a key, only its masked preview."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ConnectionRead(BaseModel):
    """A user's provider connection as any face may show it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    provider: str
    label: str
    base_url: str | None
    key_preview: str | None
    has_key: bool
    is_active: bool
    display_name: str | None
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ConnectionUpdate(BaseModel):
    """A partial change. `api_key` None with `clear_key` removes the key."""

    api_key: str | None = None
    clear_key: bool = False
    base_url: str | None = None
    base_url_set: bool = False
    is_active: bool | None = None
    display_name: str | None = None
    settings: dict[str, Any] | None = None
