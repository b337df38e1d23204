"""Turning the model names clients send into `provider/model` references."""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.core.errors import Invalid
from switchboard.core.llm import ModelRef
from switchboard.core.providers.known import known_provider

# Bare model names that clients written for one vendor send without a provider prefix.
# First match wins: more specific prefixes go before the general ones they start with.
_BARE_NAME_PREFIXES: tuple[tuple[str, str], ...] = (
    ("text-embedding-004", "gemini"),
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("dall-e", "openai"),
    ("text-embedding-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "gemini"),
    ("echo", "echo"),
)


class ModelResolver:
    """Resolves `provider/model`, operator aliases and well-known bare names."""

    def __init__(self, aliases: Mapping[str, str] | None = None) -> None:
        self._aliases = dict(aliases or {})

    @property
    def aliases(self) -> dict[str, str]:
        """Alias → `provider/model` as the operator configured them."""
        return dict(self._aliases)

    def resolve(self, name: str) -> ModelRef:
        """The provider and model behind `name`; `Invalid` (param `model`) when unknown."""
        name = name.strip()
        target = self._aliases.get(name, name)
        provider, sep, model = target.partition("/")
        if sep and model and known_provider(provider):
            return ModelRef(provider.lower(), model)
        for prefix, vendor in _BARE_NAME_PREFIXES:
            if target.startswith(prefix):
                return ModelRef(vendor, target)
        raise Invalid(
            f"The model '{name}' does not exist. Use 'provider/model', e.g. 'echo/echo'.",
            code="model_not_found",
            param="model",
        )
