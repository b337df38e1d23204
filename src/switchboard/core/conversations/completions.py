"""Stateless completions and embeddings: the gateway path (nothing stored but usage).

Faces like the OpenAI one send whole message lists; this resolves the model name,
picks the caller's endpoint for that provider, calls it and records usage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from switchboard.core.catalog.models import ModelResolver
from switchboard.core.catalog.pricing import cost_usd
from switchboard.core.errors import Invalid
from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    ModelRef,
    StreamEnd,
    StreamEvent,
    Usage,
)
from switchboard.core.providers.ports import ChatProvider
from switchboard.core.providers.service import ProviderService
from switchboard.core.usage.recorder import UsageEntry, UsageRecorder

MAX_EMBEDDING_INPUTS = 2048


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, for usage records: the user, the key used and the face."""

    user_id: str
    source: str
    api_key_id: str | None = None


class CompletionService:
    """Chat completions and embeddings for a caller, with usage recorded per call.

    `checkpoint` is the unit of work's owner's hook, awaited once the endpoint is
    resolved and before the upstream is called: the owner commits there, so no database
    connection is held while the upstream answers (which can take minutes).
    """

    def __init__(
        self,
        providers: ProviderService,
        resolver: ModelResolver,
        recorder: UsageRecorder,
        *,
        checkpoint: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._providers = providers
        self._resolver = resolver
        self._recorder = recorder
        self._checkpoint = checkpoint

    def resolve(self, model: str) -> ModelRef:
        """The provider and model behind a client's model name."""
        return self._resolver.resolve(model)

    @property
    def aliases(self) -> dict[str, str]:
        """The operator's model aliases: alias → `provider/model`."""
        return self._resolver.aliases

    async def complete(
        self, caller: Caller, request: ChatRequest, *, connection_id: str | None = None
    ) -> tuple[ModelRef, ChatResult]:
        """One whole completion of `request.model` (a client-facing name), through the
        caller's connection `connection_id` when given (a chosen profile's key)."""
        ref = self.resolve(request.model)
        provider = await self._provider(caller, ref, connection_id)
        result = await provider.chat(dataclasses.replace(request, model=ref.model))
        self._record(caller, ref, result.usage, "chat")
        return ref, result

    async def stream(
        self, caller: Caller, request: ChatRequest
    ) -> tuple[ModelRef, AsyncIterator[StreamEvent]]:
        """The resolved model and its event stream; usage is recorded when it ends.

        The provider is resolved before returning, so configuration errors surface as
        ordinary errors before any streaming response has started.
        """
        ref = self.resolve(request.model)
        provider = await self._provider(caller, ref)
        upstream = provider.stream_chat(dataclasses.replace(request, model=ref.model))
        return ref, self._recording(caller, ref, upstream)

    async def embed(
        self, caller: Caller, model: str, inputs: list[str]
    ) -> tuple[ModelRef, EmbeddingResult]:
        """Embeddings for `inputs`, one vector each, in order."""
        if not inputs:
            raise Invalid("input must not be empty", param="input")
        if len(inputs) > MAX_EMBEDDING_INPUTS:
            raise Invalid(f"at most {MAX_EMBEDDING_INPUTS} inputs per request", param="input")
        ref = self.resolve(model)
        # A provider without embeddings fails here, before any upstream call.
        embedder = await self._providers.embeddings_for(caller.user_id, ref.provider)
        if self._checkpoint is not None:
            await self._checkpoint()
        result = await embedder.embed(ref.model, inputs)
        self._record(caller, ref, result.usage, "embedding")
        return ref, result

    async def _provider(
        self, caller: Caller, ref: ModelRef, connection_id: str | None = None
    ) -> ChatProvider:
        provider = await self._providers.provider_for(
            caller.user_id, ref.provider, connection_id=connection_id
        )
        if self._checkpoint is not None:
            await self._checkpoint()
        return provider

    async def _recording(
        self, caller: Caller, ref: ModelRef, upstream: AsyncIterator[StreamEvent]
    ) -> AsyncIterator[StreamEvent]:
        try:
            async for event in upstream:
                if isinstance(event, StreamEnd):
                    self._record(caller, ref, event.usage, "chat")
                yield event
        finally:
            close = getattr(upstream, "aclose", None)
            if close is not None:
                await close()

    def _record(self, caller: Caller, ref: ModelRef, usage: Usage | None, kind: str) -> None:
        if usage is None:
            return
        self._recorder.record(
            UsageEntry(
                user_id=caller.user_id,
                source=caller.source,
                provider=ref.provider,
                model=ref.model,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_usd=cost_usd(ref.provider, ref.model, usage),
                kind=kind,
                api_key_id=caller.api_key_id,
            )
        )
