"""What the accounts domain takes in and gives back; never a password hash or key secret."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Column limits from models/user.py, so bad input fails validation instead of the database.
_NAME = Field(default=None, max_length=200)


class _Input(BaseModel):
    """Inputs reject unknown fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProfileFields(_Input):
    """The editable profile of a user; every field optional."""

    full_name: str | None = _NAME
    username: str | None = Field(default=None, min_length=1, max_length=64)
    bio: str | None = Field(default=None, max_length=2000)
    date_of_birth: date | None = None
    profession: str | None = _NAME
    avatar_url: str | None = Field(default=None, max_length=2048)
    survey_completed: bool | None = None
    heard_from: str | None = _NAME
    age: int | None = Field(default=None, ge=0, le=150)
    onboarding: dict[str, Any] | None = None


class UserCreate(ProfileFields):
    """A new account. The password is optional: Google and owner accounts have none.

    Lengths of email and password are rules of the service (`InvalidEmail`,
    `WeakPassword`), not of this schema, so that every face gets a domain error to map.
    """

    email: str = Field(max_length=320)
    password: str | None = None


class UserUpdate(ProfileFields):
    """A partial profile update: only the fields that were set are changed."""


class UserRead(BaseModel):
    """A user as callers see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    is_admin: bool
    is_owner: bool
    is_active: bool
    has_password: bool
    full_name: str | None
    username: str | None
    bio: str | None
    date_of_birth: date | None
    profession: str | None
    avatar_url: str | None
    survey_completed: bool
    heard_from: str | None
    age: int | None
    onboarding: dict[str, Any] | None
    subscription_tier: str
    created_at: datetime
    updated_at: datetime


class TokenPair(BaseModel):
    """An access token and the refresh token that renews it."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    expires_at: datetime
    refresh_expires_at: datetime
    session_id: str


class ApiKeyRead(BaseModel):
    """An API key without its secret: only the prefix identifies it."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    """A new API key; `key` is the only time the secret is ever shown."""

    id: str
    name: str
    prefix: str
    key: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
