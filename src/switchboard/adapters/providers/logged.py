"""Upstream failures in the log: one WARNING line per failed provider call.

Every provider call of the process goes through an object the factory hands out, so
wrapping those objects is the one place that sees every upstream failure (chat, streams,
embeddings, images, catalogs, connection tests) exactly once, whichever domain or face
made the call. The line names the provider and model; the request or job id comes from
the log context (bound by the request middleware and the job runner). The reason is the
adapter's own message, redacted again with the endpoint's key as a known secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import structlog

from switchboard.adapters.providers.factory import DefaultProviderFactory
from switchboard.core.errors import ErrorKind, SwitchboardError
from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    StreamEvent,
)
from switchboard.core.providers.ports import ChatProvider, ProviderEndpoint
from switchboard.kit.redact import redact

log = structlog.get_logger("switchboard.upstream")

# The kinds that mean the upstream failed or refused; anything else (an image URL the
# policy refused, a provider without embeddings) is the caller's and not logged here.
UPSTREAM_KINDS = frozenset(
    {
        ErrorKind.UPSTREAM_UNAVAILABLE,
        ErrorKind.UPSTREAM_REJECTED,
        ErrorKind.TIMEOUT,
        ErrorKind.RATE_LIMITED,
    }
)


def log_upstream_failure(
    error: SwitchboardError, endpoint: ProviderEndpoint, call: str, model: str | None
) -> None:
    """Write the WARNING line for `error`, when it is an upstream failure."""
    if error.kind not in UPSTREAM_KINDS:
        return
    log.warning(
        "upstream_failed",
        provider=endpoint.provider,
        model=model,
        call=call,
        kind=error.kind.value,
        code=error.code,
        upstream_status=error.upstream_status,
        reason=redact(error.message, [endpoint.api_key]),
    )


class LoggedProvider:
    """A `ChatProvider` that logs the upstream failures of the one it wraps."""

    def __init__(self, inner: ChatProvider, endpoint: ProviderEndpoint) -> None:
        self.inner = inner
        self._endpoint = endpoint

    @contextmanager
    def _logged(self, call: str, model: str | None = None) -> Iterator[None]:
        try:
            yield
        except SwitchboardError as exc:
            log_upstream_failure(exc, self._endpoint, call, model)
            raise

    async def list_models(self) -> list[ModelInfo]:
        """The inner provider's catalog."""
        with self._logged("list_models"):
            return await self.inner.list_models()

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One whole completion."""
        with self._logged("chat", request.model):
            return await self.inner.chat(request)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """The inner stream, event by event; closing this closes it."""
        upstream = self.inner.stream_chat(request)
        try:
            with self._logged("stream_chat", request.model):
                async for event in upstream:
                    yield event
        finally:
            close = getattr(upstream, "aclose", None)
            if close is not None:
                await close()

    async def embed(self, model: str, inputs: list[str]) -> EmbeddingResult:
        """One vector per input."""
        with self._logged("embed", model):
            return await self.inner.embed(model, inputs)

    async def generate_image(self, request: ImageRequest) -> list[GeneratedImage]:
        """Generated images."""
        with self._logged("generate_image", request.model):
            return await self.inner.generate_image(request)

    async def test_connection(self) -> None:
        """Whether the credential works."""
        with self._logged("test_connection"):
            await self.inner.test_connection()


class LoggedProviderFactory(DefaultProviderFactory):
    """`DefaultProviderFactory` whose providers log their upstream failures."""

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        """The cached provider for `endpoint`, wrapped (the wrapper costs one object)."""
        return LoggedProvider(super().provider(endpoint), endpoint)
