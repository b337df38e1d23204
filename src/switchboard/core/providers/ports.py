"""What the core needs from provider adapters.

Adapters implement `ChatProvider` on a vendor SDK and raise only `core.errors` kinds:
vendor exception types never cross this boundary, and neither does a whole API key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
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

    `kind` picks the adapter family (openai, anthropic, gemini, ollama, echo); `provider`
    is the user-facing name (groq, openrouter, ...). `trusted` is true only for endpoints
    the operator configured, which may live on private or loopback addresses.
    """

    kind: str
    provider: str
    base_url: str | None = None
    api_key: str | None = None
    trusted: bool = False

    def __repr__(self) -> str:  # never print a key, even in a traceback
        return (
            f"ProviderEndpoint(kind={self.kind!r}, provider={self.provider!r}, "
            f"base_url={self.base_url!r}, trusted={self.trusted!r})"
        )


class ChatProvider(Protocol):
    """One upstream, bound to one endpoint. Every call has a timeout."""

    async def list_models(self) -> list[ModelInfo]:
        """The models the upstream offers to this credential."""
        ...

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One whole completion."""
        ...

    def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Text (and tool-call) deltas in order, then exactly one `StreamEnd`.

        Closing the iterator early cancels the upstream call.
        """
        ...

    async def embed(self, model: str, inputs: list[str]) -> EmbeddingResult:
        """One vector per input; `Invalid` where the provider has no embeddings."""
        ...

    async def generate_image(self, request: ImageRequest) -> list[GeneratedImage]:
        """Generated images; `Invalid` where the provider cannot make images."""
        ...

    async def test_connection(self) -> None:
        """Return when the credential works; raise the matching error kind when not."""
        ...


class ProviderFactory(Protocol):
    """Builds providers, reusing SDK clients and connection pools per endpoint."""

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        """The provider for `endpoint` (cached per kind, base URL and key)."""
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
