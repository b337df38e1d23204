"""The one list of provider kinds: each adapter family and what it can do.

A kind is a wire protocol (openai, anthropic, ...); many provider names share one
(`known.KNOWN_PROVIDERS` names its kind for each). What a kind can do decides which
capability the provider service hands out for it, before any endpoint is resolved.
The adapters' registry (`adapters.providers.factory.ADAPTERS`) is keyed by these kinds
and checked against this table when it is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.core.providers.errors import CapabilityMissing
from switchboard.core.providers.ports import Capability

# How the one error for a missing capability says what the caller asked for.
_ASKED = {
    Capability.CHAT: "chat",
    Capability.EMBEDDINGS: "create embeddings",
    Capability.IMAGES: "generate images",
    Capability.MODEL_ADMIN: "manage its models",
    Capability.WORKFLOWS: "run workflows",
}


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """An adapter family and the capabilities every provider of that family has."""

    name: str
    capabilities: frozenset[Capability]

    def can(self, capability: Capability) -> bool:
        """Whether providers of this kind serve `capability`."""
        return capability in self.capabilities


def _kind(name: str, *capabilities: Capability) -> ProviderKind:
    return ProviderKind(name, frozenset(capabilities))


PROVIDER_KINDS: dict[str, ProviderKind] = {
    kind.name: kind
    for kind in (
        _kind("openai", Capability.CHAT, Capability.EMBEDDINGS, Capability.IMAGES),
        _kind("anthropic", Capability.CHAT),
        _kind("gemini", Capability.CHAT, Capability.EMBEDDINGS, Capability.IMAGES),
        _kind("ollama", Capability.CHAT, Capability.EMBEDDINGS, Capability.MODEL_ADMIN),
        _kind("echo", Capability.CHAT, Capability.EMBEDDINGS, Capability.IMAGES),
        # The operator's ComfyUI: its adapter is the workflow engine, not a chat provider.
        _kind("comfyui", Capability.IMAGES, Capability.WORKFLOWS),
    )
}


def require(kind: str, provider: str, capability: Capability) -> None:
    """Return when providers of `kind` serve `capability`; `CapabilityMissing` if not.

    `provider` is the user-facing name the error speaks of ("anthropic", "groq").
    """
    found = PROVIDER_KINDS.get(kind)
    if found is None or capability not in found.capabilities:
        raise missing(provider, capability)


def missing(provider: str, capability: Capability) -> CapabilityMissing:
    """The one error for a provider that cannot serve `capability`."""
    return CapabilityMissing(f"Provider '{provider}' cannot {_ASKED[capability]}.", param="model")
