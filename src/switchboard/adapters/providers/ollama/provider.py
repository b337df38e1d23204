"""A local or remote Ollama server behind the `ChatProvider` port, on the `ollama` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import ollama

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers import common
from switchboard.core.errors import UpstreamUnavailable
from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    ModelInfo,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from switchboard.core.providers.ports import ProviderEndpoint

from . import errors
from .admin import OllamaModelAdmin
from .http import PooledHttp, PooledOllamaClient
from .translate import chat_args, chat_result, finish_reason, tool_calls, tool_delta, usage

DEFAULT_BASE_URL = "http://127.0.0.1:11434"


def _model_info(model: ollama.ListResponse.Model, provider: str) -> ModelInfo:
    details = model.details
    metadata: dict[str, Any] = {"size": model.size}
    if details is not None:
        metadata |= {
            "family": details.family,
            "parameter_size": details.parameter_size,
            "quantization_level": details.quantization_level,
        }
    embeds = details is not None and "bert" in (details.family or "")
    return ModelInfo(
        id=model.model or "",
        provider=provider,
        name=model.model,
        capabilities=("embeddings",) if embeds else ("chat",),
        metadata={k: v for k, v in metadata.items() if v is not None},
    )


class OllamaProvider(OllamaModelAdmin):
    """One Ollama server (chat, embeddings and, from `OllamaModelAdmin`, its model API);
    every vendor failure leaves as a core error."""

    def __init__(
        self,
        endpoint: ProviderEndpoint,
        clients: OutboundClients,
        timeout: float,
        connect_timeout: float,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        # `http_client` replaces the pooled network client (a desktop bridge's relay).
        self._endpoint = endpoint
        base_url = common.base_url(endpoint, DEFAULT_BASE_URL)
        self.deadline_seconds = timeout
        self.vendor = "Ollama"
        self._clients = clients
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": "switchboard (ollama-python)",
        }
        if endpoint.api_key:  # Ollama behind an authenticating proxy, or ollama.com
            headers["authorization"] = f"Bearer {endpoint.api_key}"
        timeouts = httpx.Timeout(timeout, connect=connect_timeout)
        http = PooledHttp(
            http_client or clients.httpx_client(trusted=endpoint.trusted, timeout=timeouts),
            base_url,
            headers,
            timeouts,
        )
        self._client = PooledOllamaClient(http)

    def __repr__(self) -> str:
        return f"OllamaProvider({self._endpoint!r})"

    @common.bounded
    async def list_models(self) -> list[ModelInfo]:
        """The models pulled on the server (/api/tags)."""
        try:
            listing = await self._client.list()
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        return [_model_info(m, self._endpoint.provider) for m in listing.models]

    @common.bounded
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One whole completion."""
        await common.check_image_inputs(self._clients, request)
        args = chat_args(request)
        try:
            response = await self._client.chat(**args, stream=False)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        return chat_result(response)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Deltas in order, then one `StreamEnd`; closing early closes the response."""
        await common.check_image_inputs(self._clients, request)
        args = chat_args(request)
        calls = 0
        last: ollama.ChatResponse | None = None
        try:
            stream = await self._client.chat(**args, stream=True)
            try:
                async for chunk in stream:
                    if chunk.message.thinking:
                        yield ThinkingDelta(chunk.message.thinking)
                    if chunk.message.content:
                        yield TextDelta(chunk.message.content)
                    for call in tool_calls(chunk.message, calls):
                        yield tool_delta(call, calls)
                        calls += 1
                    if chunk.done:
                        last = chunk
                        break
            finally:
                # The SDK's generator holds the response open until it is closed.
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        if last is None:
            raise UpstreamUnavailable("Ollama ended the stream before done.")
        yield StreamEnd(finish_reason(last.done_reason, calls > 0), usage(last))

    @common.bounded
    async def embed(self, model: str, inputs: list[str]) -> EmbeddingResult:
        """One vector per input (/api/embed)."""
        try:
            response = await self._client.embed(model=model, input=list(inputs))
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        vectors = [list(v) for v in response.embeddings]
        if len(vectors) != len(inputs):
            raise UpstreamUnavailable("Ollama returned the wrong number of embeddings.")
        return EmbeddingResult(
            vectors=vectors, model=model, usage=Usage(prompt_tokens=response.prompt_eval_count or 0)
        )

    @common.bounded
    async def test_connection(self) -> None:
        """List the pulled models: cheap, and it proves the server answers."""
        try:
            await self._client.list()
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
