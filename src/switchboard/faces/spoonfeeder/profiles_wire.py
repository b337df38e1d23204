"""Profiles on the wire: camelCase requests, the document's snake_case answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from switchboard.core.profiles.schemas import (
    MAX_MODALITIES,
    MAX_NAME,
    MAX_TEXT,
    ConnectionCheck,
    ModelSync,
    Profile,
    ProfileModel,
    ProfileType,
)

MAX_KEY = 4096
MAX_URL = 2048
MAX_MODEL_ID = 300

# Inputs: the document's camelCase names; snake_case is accepted too (the original's rows).
_INPUT = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)
Key = Field(default=None, max_length=MAX_KEY)
Url = Field(default=None, max_length=MAX_URL)
Text = Field(default=None, max_length=MAX_TEXT)
# The document's provider names (`anthropic` too, the name switchboard uses for Claude).
ProfileProvider = Literal["ollama", "openai", "gemini", "claude", "anthropic", "comfyui"]
Modalities = Field(default=None, max_length=MAX_MODALITIES)
Modality = Annotated[str, Field(min_length=1, max_length=50)]


class ProfileIn(BaseModel):
    """`POST /api/profiles`."""

    model_config = _INPUT

    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str | None = Text
    type: ProfileType
    provider: ProfileProvider
    api_key: str | None = Key
    url: str | None = Url
    options: dict[str, Any] | None = None
    prompt_template: str | None = Text
    input_modalities: list[Modality] | None = Modalities
    output_modalities: list[Modality] | None = Modalities


class ProfilePatch(BaseModel):
    """`PUT /api/profiles/:id`: any subset of the fields of `ProfileIn`."""

    model_config = _INPUT

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Text
    type: ProfileType | None = None
    provider: ProfileProvider | None = None
    api_key: str | None = Key
    url: str | None = Url
    options: dict[str, Any] | None = None
    prompt_template: str | None = Text
    input_modalities: list[Modality] | None = Modalities
    output_modalities: list[Modality] | None = Modalities


class ProfileModelIn(BaseModel):
    """`POST /api/profiles/:id/models`."""

    model_config = _INPUT

    model_id: str = Field(min_length=1, max_length=MAX_MODEL_ID, pattern=r"^[^\x00]*$")
    name: str | None = Field(default=None, max_length=MAX_NAME)


class ConnectionTestIn(BaseModel):
    """`POST /api/profiles/test-connection`."""

    model_config = _INPUT

    provider: ProfileProvider
    api_key: str | None = Key
    url: str | None = Url


def iso(moment: datetime) -> str:
    """`2024-12-01T00:00:00.000Z` (stored times are UTC, naive ones included)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def profile(found: Profile) -> dict[str, Any]:
    """A profile as the document shows it; the key only as its masked preview."""
    return {
        "id": found.id,
        "name": found.name,
        "description": found.description,
        "type": found.type,
        "provider": found.provider,
        "api_key": found.key_preview,
        "url": found.url,
        "options": found.options,
        "prompt_template": found.prompt_template,
        "input_modalities": found.input_modalities,
        "output_modalities": found.output_modalities,
        "created_at": iso(found.created_at),
        "updated_at": iso(found.updated_at),
    }


def profile_model(profile_id: str, model: ProfileModel) -> dict[str, Any]:
    """One of a profile's models."""
    return {
        "id": model.id,
        "profile_id": profile_id,
        "model_id": model.model_id,
        "name": model.name,
        "created_at": iso(model.created_at),
    }


def connection_check(check: ConnectionCheck) -> dict[str, Any]:
    """`{connected, latency, models}` (latency in milliseconds), or `{connected: false,
    error}` as the settings test answers."""
    if not check.connected:
        return {"connected": False, "error": check.error}
    return {"connected": check.connected, "latency": check.latency_ms, "models": check.models}


def model_sync(sync: ModelSync) -> dict[str, Any]:
    """`{added, removed, models}`."""
    return sync.model_dump()
