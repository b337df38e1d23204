"""PocketLLM's view of the live model catalogs: its providers, filters and messages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from switchboard.core.container import Services
from switchboard.core.llm import ModelInfo
from switchboard.faces.pocketllm import schemas, translate

# The fields PocketLLM's client reads from `GET /v1/models` and `/v1/providers/{p}/models`.
CATALOG_KEYS = frozenset({"models", "message", "configured_providers", "missing_providers"})
NO_MATCH = "No models matched the provided filters."
NO_PROVIDERS = "No providers are configured for this workspace. Add an API key for one of: {}."
NO_MODELS = "No models are currently available from the configured providers."
NOT_CONFIGURED = (
    "Provider '{}' is not configured or is inactive. Activate it with POST /v1/providers/activate."
)


class ModelFilters(BaseModel):
    """The original's filters: case-insensitive substrings, all of them (AND).

    Other query parameters are ignored rather than refused: `GET /v1/models` is shared,
    and another face's clients may send their own.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    model_id: str | None = Field(default=None, alias="modelId", max_length=300)
    query: str | None = Field(default=None, max_length=200)

    def matches(self, model: ModelInfo) -> bool:
        """Whether `model` passes every filter that was given."""
        if self.name and self.name.lower() not in (model.name or model.id).lower():
            return False
        if self.model_id and self.model_id.lower() not in model.id.lower():
            return False
        if self.query:
            haystack = " ".join(
                (model.id, model.name or "", model.description or "", str(model.metadata))
            ).lower()
            if self.query.lower() not in haystack:
                return False
        return True

    @property
    def narrowing(self) -> bool:
        """Whether a name, id or text filter was given."""
        return any((self.name, self.model_id, self.query))


async def catalog_fields(
    services: Services, owner: str, only: str | None, filters: ModelFilters
) -> dict[str, Any]:
    """PocketLLM's catalog fields: `only` one provider's models, or every provider's."""
    catalog = await services.catalog.models(owner, only=only)
    supported = schemas.SUPPORTED_PROVIDERS
    configured = [p for p in catalog.configured if p in supported]
    models = [m for m in catalog.models if m.provider in supported and filters.matches(m)]
    if only is not None:
        shown = [p for p in configured if p == only]
        missing = [] if shown else [only]
    else:
        shown = configured
        missing = [p for p in supported if p not in configured]
    return {
        "models": [translate.catalog_model(m) for m in models],
        "message": _message(only, configured, models, filters, catalog.models),
        "configured_providers": shown,
        "missing_providers": missing,
    }


def _message(
    only: str | None,
    configured: list[str],
    models: list[ModelInfo],
    filters: ModelFilters,
    everything: list[ModelInfo],
) -> str | None:
    """Why the list is empty (None when it is not)."""
    if only is not None and only not in configured:
        return NOT_CONFIGURED.format(only)
    if not configured:
        return NO_PROVIDERS.format(", ".join(schemas.SUPPORTED_PROVIDERS))
    if models:
        return None
    if filters.narrowing and any(m.provider in schemas.SUPPORTED_PROVIDERS for m in everything):
        return NO_MATCH
    return NO_MODELS
