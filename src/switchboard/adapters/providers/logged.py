"""Upstream failures in the log: one WARNING line per failed provider call.

Every provider call of the process goes through an object the factory hands out, so
wrapping those objects is the one place that sees every upstream failure (chat, streams,
embeddings, images, model administration, catalogs, connection tests) exactly once,
whichever domain or face made the call. A wrapper has exactly the ports of the provider
it wraps (see `logged`), so handing out a capability by port stays truthful.
The line names the provider and model; the request or job id comes from the log
context (bound by the request middleware and the job runner). The reason is the
adapter's own message, redacted again with the endpoint's key as a known secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import cast

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
from switchboard.core.providers.ports import (
    ChatProvider,
    EmbeddingProvider,
    ImageProvider,
    LocalModel,
    ModelAdministration,
    ModelDetails,
    ModelStatus,
    ProviderEndpoint,
)
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
    """A `ChatProvider` that logs the upstream failures of the one it wraps.

    It has the chat port only; `logged` builds it with the other ports the inner
    provider has (and no others), so a capability check on the wrapper tells the truth.
    """

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

    async def test_connection(self) -> None:
        """Whether the credential works."""
        with self._logged("test_connection"):
            await self.inner.test_connection()


class _LoggedEmbeddings(LoggedProvider):
    """The `EmbeddingProvider` port, for an inner provider that has it."""

    async def embed(self, model: str, inputs: list[str]) -> EmbeddingResult:
        """One vector per input."""
        with self._logged("embed", model):
            return await cast(EmbeddingProvider, self.inner).embed(model, inputs)


class _LoggedImages(LoggedProvider):
    """The `ImageProvider` port, for an inner provider that has it."""

    async def generate_image(self, request: ImageRequest) -> list[GeneratedImage]:
        """Generated images."""
        with self._logged("generate_image", request.model):
            return await cast(ImageProvider, self.inner).generate_image(request)


class _LoggedModelAdmin(LoggedProvider):
    """The `ModelAdministration` port, for an inner provider that has it."""

    @property
    def _admin(self) -> ModelAdministration:
        return cast(ModelAdministration, self.inner)

    async def local_models(self) -> list[LocalModel]:
        """Installed models, with size and loaded state."""
        with self._logged("local_models"):
            return await self._admin.local_models()

    async def model_details(self, name: str) -> ModelDetails:
        """One installed model's details."""
        with self._logged("model_details", name):
            return await self._admin.model_details(name)

    async def load_model(self, name: str) -> ModelStatus:
        """Load a model into memory."""
        with self._logged("load_model", name):
            return await self._admin.load_model(name)

    async def unload_model(self, name: str) -> ModelStatus:
        """Unload a model from memory."""
        with self._logged("unload_model", name):
            return await self._admin.unload_model(name)

    async def model_status(self, name: str) -> ModelStatus:
        """Whether a model is loaded."""
        with self._logged("model_status", name):
            return await self._admin.model_status(name)


# Each optional port and the wrapper part that passes it through.
_PARTS: tuple[tuple[type, type[LoggedProvider]], ...] = (
    (EmbeddingProvider, _LoggedEmbeddings),
    (ImageProvider, _LoggedImages),
    (ModelAdministration, _LoggedModelAdmin),
)
# Adapter class -> its wrapper class: one protocol check per adapter class, not per call.
_WRAPPERS: dict[type, type[LoggedProvider]] = {}


def logged(inner: ChatProvider, endpoint: ProviderEndpoint) -> LoggedProvider:
    """`inner` wrapped with exactly the ports it has, each logging upstream failures."""
    wrapper = _WRAPPERS.get(type(inner))
    if wrapper is None:
        parts = tuple(part for port, part in _PARTS if isinstance(inner, port))
        wrapper = cast(
            type[LoggedProvider],
            type(f"Logged{type(inner).__name__}", parts, {}) if parts else LoggedProvider,
        )
        _WRAPPERS[type(inner)] = wrapper
    return wrapper(inner, endpoint)


class LoggedProviderFactory(DefaultProviderFactory):
    """`DefaultProviderFactory` whose providers log their upstream failures."""

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        """The cached provider for `endpoint`, wrapped (the wrapper costs one object)."""
        return logged(super().provider(endpoint), endpoint)
