"""What the profiles domain takes and hands out: a key only ever as its masked preview."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ProfileType = Literal["text", "image", "video", "audio"]
MAX_NAME = 200
MAX_TEXT = 20_000
MAX_MODALITIES = 8


class ProfileModel(BaseModel):
    """A model the user associated with a profile."""

    id: str
    model_id: str
    name: str | None = None
    created_at: datetime


class ProfileFields(BaseModel):
    """What a profile keeps besides its connection (stored with the connection)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    description: str | None = None
    type: ProfileType = "text"
    options: dict[str, Any] = Field(default_factory=dict)
    prompt_template: str | None = None
    input_modalities: list[str] = Field(default_factory=lambda: ["text"])
    output_modalities: list[str] = Field(default_factory=lambda: ["text"])
    models: list[ProfileModel] = Field(default_factory=list)


class Profile(ProfileFields):
    """A profile as any face may show it."""

    id: str
    provider: str
    key_preview: str | None
    has_key: bool
    url: str | None
    created_at: datetime
    updated_at: datetime


class ProfileCreate(BaseModel):
    """A new profile; `provider` is a name `service.PROFILE_PROVIDERS` knows."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    type: ProfileType
    provider: str
    api_key: str | None = None
    url: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    prompt_template: str | None = Field(default=None, max_length=MAX_TEXT)
    input_modalities: list[str] = Field(default_factory=lambda: ["text"])
    output_modalities: list[str] = Field(default_factory=lambda: ["text"])


class ProfileChange(BaseModel):
    """A partial change: only the fields set are applied (`model_fields_set`).

    `api_key` set to None or "" removes the key; a new `url` without a new key drops the
    stored key (a key never follows a changed address)."""

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    type: ProfileType | None = None
    provider: str | None = None
    api_key: str | None = None
    url: str | None = None
    options: dict[str, Any] | None = None
    prompt_template: str | None = Field(default=None, max_length=MAX_TEXT)
    input_modalities: list[str] | None = None
    output_modalities: list[str] | None = None


class ConnectionCheck(BaseModel):
    """A live test of a credential that was not saved."""

    connected: bool
    latency_ms: int
    models: list[str] = []
    # Why the provider could not be used (unreachable, key refused, too slow).
    error: str | None = None


class ModelSync(BaseModel):
    """What syncing a profile's models with its provider's list changed."""

    added: int
    removed: int
    models: list[str]
