"""What the core needs from provider adapters.

Adapters implement `ChatProvider` on a vendor SDK, plus the port of each other
capability their kind has (`kinds.PROVIDER_KINDS`) and no others: a capability is a
port the object really has, never a method that raises "unsupported". They raise only
`core.errors` kinds: vendor exception types never cross this boundary, and neither
does a whole API key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    StreamEvent,
)


@dataclass(frozen=True, slots=True)
class ProviderEndpoint:
    """Where and how to reach one provider with one credential.

    `kind` picks the adapter family (one of `kinds.PROVIDER_KINDS`); `provider`
    is the user-facing name (groq, openrouter, ...). `trusted` is true only for endpoints
    the operator configured, which may live on private or loopback addresses.
    """

    kind: str
    provider: str
    base_url: str | None = None
    api_key: str | None = None
    trusted: bool = False
    # Reached through this desktop bridge (a relay to the user's machine), not a URL.
    bridge_id: str | None = None

    def __repr__(self) -> str:  # never print a key, even in a traceback
        return (
            f"ProviderEndpoint(kind={self.kind!r}, provider={self.provider!r}, "
            f"base_url={self.base_url!r}, trusted={self.trusted!r}, "
            f"bridge_id={self.bridge_id!r})"
        )


class Capability(StrEnum):
    """What a provider kind can do (`kinds.PROVIDER_KINDS`), each through its own port:
    `ChatProvider`, `EmbeddingProvider`, `ImageProvider` and `ModelAdministration` below,
    and `core.workflows.ports.WorkflowEngine` for workflows."""

    CHAT = "chat"
    EMBEDDINGS = "embeddings"
    IMAGES = "images"
    MODEL_ADMIN = "model_admin"
    WORKFLOWS = "workflows"


class ChatProvider(Protocol):
    """One upstream, bound to one endpoint. Every call has a timeout."""

    async def list_models(self) -> list[ModelInfo]:
        """The models the upstream offers to this credential."""
        ...

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One whole completion."""
        ...

    def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Text, thinking and tool-call deltas in order, then exactly one `StreamEnd`.

        Closing the iterator early cancels the upstream call.
        """
        ...

    async def test_connection(self) -> None:
        """Return when the credential works; raise the matching error kind when not."""
        ...


@runtime_checkable
class EmbeddingProvider(Protocol):
    """An upstream that turns text into vectors."""

    async def embed(self, model: str, inputs: list[str]) -> EmbeddingResult:
        """One vector per input."""
        ...


@runtime_checkable
class ImageProvider(Protocol):
    """An upstream that generates images from a prompt."""

    async def generate_image(self, request: ImageRequest) -> list[GeneratedImage]:
        """Generated images (bytes or URLs)."""
        ...


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A model installed on a self-hosted server (Ollama), and whether it is in memory.

    `size` is bytes on disk; times are ISO 8601 strings as the server gave them.
    """

    name: str
    size: int | None = None
    loaded: bool = False
    modified_at: str | None = None
    family: str | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """What a server says about one installed model (Ollama's `/api/show`)."""

    name: str
    template: str | None = None
    parameters: str | None = None
    license: str | None = None
    family: str | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    capabilities: tuple[str, ...] = ()
    context_length: int | None = None
    modified_at: str | None = None


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """Whether a model is in memory now, and until when it stays there."""

    name: str
    loaded: bool
    size_vram: int | None = None
    expires_at: str | None = None


@runtime_checkable
class ModelAdministration(Protocol):
    """Managing the models of a self-hosted server: Ollama's model API."""

    async def local_models(self) -> list[LocalModel]:
        """Installed models, with their size and whether each is loaded."""
        ...

    async def model_details(self, name: str) -> ModelDetails:
        """One installed model's details; `NotFound` when it is not installed."""
        ...

    async def load_model(self, name: str) -> ModelStatus:
        """Load a model into memory (and keep it there for the server's keep-alive)."""
        ...

    async def unload_model(self, name: str) -> ModelStatus:
        """Unload a model from memory now."""
        ...

    async def model_status(self, name: str) -> ModelStatus:
        """Whether a model is loaded now; `NotFound` when it is not installed."""
        ...


class ProviderFactory(Protocol):
    """Builds providers, reusing SDK clients and connection pools per endpoint."""

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        """The provider for `endpoint` (cached per kind, base URL and key).

        The object also has the ports of its kind's other capabilities;
        `core.providers.capabilities` hands those out.
        """
        ...

    async def aclose(self) -> None:
        """Close every pooled client."""
        ...


@runtime_checkable
class BaseUrlPolicy(Protocol):
    """What a factory that owns the outbound policy offers: checking a user's base URL.

    `DefaultProviderFactory` implements it with the policy its HTTP clients apply when
    they connect (trust and `SWITCHBOARD_OUTBOUND_EXEMPTIONS`), so a URL is judged once,
    the same way, at save and at every connection.
    """

    async def check_base_url(self, url: str, *, private_ok: bool) -> None:
        """Return when the policy allows `url`; `netpolicy.BlockedUrl` for a refused URL
        or a host name that does not resolve."""
        ...
