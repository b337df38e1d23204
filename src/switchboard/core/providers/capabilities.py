"""Handing out one capability of a resolved endpoint's provider, or the one clear error.

The kind table decides first (a dict look-up, no I/O), so a provider that cannot do
something fails with `CapabilityMissing` the same way whatever adapter would serve it.
The object the factory built is then narrowed to the capability's port: adapters (and
their logging wrappers) implement only what they can, so the check is truthful, and a
test keeps the table and the adapters in step (were they not, the caller would still
get the same error).
"""

from __future__ import annotations

from switchboard.core.providers.kinds import missing, require
from switchboard.core.providers.ports import (
    Capability,
    ChatProvider,
    EmbeddingProvider,
    ImageProvider,
    ModelAdministration,
    ProviderEndpoint,
    ProviderFactory,
)


def chat_of(factory: ProviderFactory, endpoint: ProviderEndpoint) -> ChatProvider:
    """The chat provider of `endpoint`; `CapabilityMissing` for a kind without chat."""
    require(endpoint.kind, endpoint.provider, Capability.CHAT)
    return factory.provider(endpoint)


def embeddings_of(factory: ProviderFactory, endpoint: ProviderEndpoint) -> EmbeddingProvider:
    """The embeddings of `endpoint`'s provider; `CapabilityMissing` when it has none."""
    require(endpoint.kind, endpoint.provider, Capability.EMBEDDINGS)
    adapter = factory.provider(endpoint)
    if not isinstance(adapter, EmbeddingProvider):
        raise missing(endpoint.provider, Capability.EMBEDDINGS)
    return adapter


def images_of(factory: ProviderFactory, endpoint: ProviderEndpoint) -> ImageProvider:
    """The image generation of `endpoint`'s provider; `CapabilityMissing` when it has none."""
    require(endpoint.kind, endpoint.provider, Capability.IMAGES)
    adapter = factory.provider(endpoint)
    if not isinstance(adapter, ImageProvider):
        raise missing(endpoint.provider, Capability.IMAGES)
    return adapter


def model_admin_of(factory: ProviderFactory, endpoint: ProviderEndpoint) -> ModelAdministration:
    """The model administration of `endpoint`'s server; `CapabilityMissing` when it has none."""
    require(endpoint.kind, endpoint.provider, Capability.MODEL_ADMIN)
    adapter = factory.provider(endpoint)
    if not isinstance(adapter, ModelAdministration):
        raise missing(endpoint.provider, Capability.MODEL_ADMIN)
    return adapter
