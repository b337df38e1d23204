"""Provider names of the Spoon Feeder document, and the settings' wire shapes.

The document names `ollama`, `openai`, `gemini` and `claude`; switchboard calls Claude's
vendor `anthropic` (accepted too). Answers name a provider as the document does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.core.providers.schemas import ConnectionRead

ProviderName = Literal["ollama", "openai", "gemini", "claude", "anthropic"]
# Document name -> switchboard's provider name.
PROVIDERS: dict[ProviderName, str] = {
    "ollama": "ollama",
    "openai": "openai",
    "gemini": "gemini",
    "claude": "anthropic",
    "anthropic": "anthropic",
}
WIRE_NAMES: dict[str, str] = {"anthropic": "claude"}
# Keys of the connection's settings this face keeps: the default model and the outcome
# of the last connection test.
DEFAULT_MODEL = "default_model"
LAST_TESTED = "last_tested"
TEST_STATUS = "test_status"
TEST_ERROR = "test_error"
UNTESTED = "untested"


def provider_name(name: ProviderName) -> str:
    """switchboard's provider for a document name."""
    return PROVIDERS[name]


def wire_name(provider: str) -> str:
    """The document's name for switchboard's `provider`."""
    return WIRE_NAMES.get(provider, provider)


class SettingsUpdate(BaseModel):
    """`PUT /api/settings/:provider`: `apiKey` is required except for Ollama."""

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = Field(None, alias="apiKey", min_length=1, max_length=4096)
    endpoint_url: str | None = Field(
        None, alias="endpointUrl", max_length=2048, pattern=r"^[hH][tT][tT][pP][sS]?://[^\x00]+$"
    )
    default_model: str | None = Field(None, alias="defaultModel", min_length=1, max_length=256)


def iso(moment: datetime) -> str:
    """`2024-12-14T09:00:00.000Z`, as the document writes times (naive times are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def settings_body(connection: ConnectionRead) -> dict[str, Any]:
    """One provider's settings; the key only as its masked preview (`sk-...7890`)."""
    stored = connection.settings
    body: dict[str, Any] = {
        "id": connection.id,
        "provider": wire_name(connection.provider),
        "apiKey": connection.key_preview,
        "endpointUrl": connection.base_url,
        "defaultModel": stored.get(DEFAULT_MODEL),
        "lastTested": stored.get(LAST_TESTED),
        "status": stored.get(TEST_STATUS) or UNTESTED,
        "errorMessage": stored.get(TEST_ERROR),
        "createdAt": iso(connection.created_at),
        "updatedAt": iso(connection.updated_at),
    }
    return body
