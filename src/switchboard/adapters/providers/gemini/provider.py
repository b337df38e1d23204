"""Google Gemini (Developer API) behind the `ChatProvider` port, on `google-genai`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
from google import genai
from google.genai import types

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers import common
from switchboard.core.errors import Invalid, UpstreamUnavailable
from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
)
from switchboard.core.providers.ports import ProviderEndpoint

from . import errors
from .http import OPEN_STREAMS, StreamTrackingClient
from .translate import (
    candidate_parts,
    chat_result,
    finish_reason,
    generate_args,
    tool_call,
    tool_delta,
    usage,
)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"


_CAPABILITIES = {
    "generateContent": "chat",
    "embedContent": "embeddings",
    "batchEmbedContents": "embeddings",
    "predict": "image",
}


def _model_info(model: types.Model, provider: str) -> ModelInfo:
    name = (model.name or "").removeprefix("models/")
    actions = model.supported_actions or []
    capabilities = tuple(dict.fromkeys(_CAPABILITIES[a] for a in actions if a in _CAPABILITIES))
    return ModelInfo(
        id=name,
        provider=provider,
        name=model.display_name,
        description=model.description,
        context_window=model.input_token_limit,
        max_output_tokens=model.output_token_limit,
        capabilities=capabilities or ("chat",),
    )


async def _next_chunk(
    stream: AsyncIterator[types.GenerateContentResponse], opened: list[httpx2.Response]
) -> types.GenerateContentResponse | None:
    """The next chunk, or None at the end; responses opened meanwhile land in `opened`."""
    # Set and reset within one step, never across a yield of our caller's generator.
    token = OPEN_STREAMS.set(opened)
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return None
    finally:
        OPEN_STREAMS.reset(token)


async def _close(
    stream: AsyncIterator[types.GenerateContentResponse], opened: list[httpx2.Response]
) -> None:
    # Closing the SDK's outer generator does not reach the one holding the response
    # (see http.py), so the responses are closed here, directly.
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
    for response in opened:
        await response.aclose()


class GeminiProvider:
    """One Gemini endpoint and key; every vendor failure leaves as a core error."""

    def __init__(
        self,
        endpoint: ProviderEndpoint,
        clients: OutboundClients,
        timeout: float,
        connect_timeout: float,
    ) -> None:
        self._endpoint = endpoint
        base_url = common.base_url(endpoint, DEFAULT_BASE_URL)
        self.deadline_seconds = timeout
        self.vendor = "Gemini"
        self._clients = clients
        self._client: genai.Client | None = None
        if endpoint.api_key:
            # The SDK puts api_key in the x-goog-api-key header, never in the URL. It
            # takes one timeout, in milliseconds, for every phase (connect included);
            # retry_options=None means a single attempt.
            options = types.HttpOptions(
                base_url=base_url,
                # Pinned so the SDK's default and GOOGLE_GENAI_API_VERSION cannot move it.
                api_version=API_VERSION,
                timeout=int(timeout * 1000),
                httpx_async_client=StreamTrackingClient(
                    clients.httpx2_client(
                        trusted=endpoint.trusted,
                        timeout=httpx2.Timeout(timeout, connect=connect_timeout),
                    )
                ),
                retry_options=None,
            )
            self._client = genai.Client(
                vertexai=False, api_key=endpoint.api_key, http_options=options
            )

    def __repr__(self) -> str:
        return f"GeminiProvider({self._endpoint!r})"

    @property
    def models(self) -> genai.models.AsyncModels:
        """The SDK's async models API; a missing key is the same failure as a bad one."""
        if self._client is None:
            raise common.missing_key("Gemini")
        return self._client.aio.models

    @common.bounded
    async def list_models(self) -> list[ModelInfo]:
        """Every model the key can use (the pager follows pageToken)."""
        try:
            pager = await self.models.list(config={"page_size": 100})
            return [_model_info(m, self._endpoint.provider) async for m in pager]
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None

    @common.bounded
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One whole completion."""
        await common.check_image_inputs(self._clients, request)
        contents, config = generate_args(request)
        try:
            response = await self.models.generate_content(
                model=request.model, contents=contents, config=config
            )
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        return chat_result(response, request.model)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Deltas in order, then one `StreamEnd`; closing early closes the response."""
        await common.check_image_inputs(self._clients, request)
        contents, config = generate_args(request)
        calls = 0
        reason: types.FinishReason | None = None
        final_usage = None
        opened: list[httpx2.Response] = []
        try:
            # Opening is bounded like a whole call; chunks then have the read timeout.
            async with common.deadline(self.deadline_seconds, self.vendor):
                stream = await self.models.generate_content_stream(
                    model=request.model, contents=contents, config=config
                )
            try:
                while (chunk := await _next_chunk(stream, opened)) is not None:
                    for part in candidate_parts(chunk):
                        if part.text:
                            yield ThinkingDelta(part.text) if part.thought else TextDelta(part.text)
                        elif (call := tool_call(part, calls)) is not None:
                            yield tool_delta(call, calls)
                            calls += 1
                    if chunk.candidates and chunk.candidates[0].finish_reason is not None:
                        reason = chunk.candidates[0].finish_reason
                    final_usage = usage(chunk.usage_metadata) or final_usage
            finally:
                await _close(stream, opened)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        if reason is None:
            raise UpstreamUnavailable("Gemini ended the stream without a finish reason.")
        yield StreamEnd(finish_reason=finish_reason(reason, calls > 0), usage=final_usage)

    @common.bounded
    async def embed(self, model: str, inputs: list[str]) -> EmbeddingResult:
        """One vector per input, through batchEmbedContents."""
        try:
            response = await self.models.embed_content(model=model, contents=list(inputs))
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        vectors = [list(e.values or []) for e in response.embeddings or []]
        if len(vectors) != len(inputs):
            raise UpstreamUnavailable("Gemini returned the wrong number of embeddings.")
        return EmbeddingResult(vectors=vectors, model=model)

    @common.bounded
    async def generate_image(self, request: ImageRequest) -> list[GeneratedImage]:
        """Images from a Gemini image model (generateContent with the IMAGE modality)."""
        config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
        images: list[GeneratedImage] = []
        try:
            for _ in range(max(1, request.n)):
                response = await self.models.generate_content(
                    model=request.model, contents=request.prompt, config=config
                )
                images += [
                    GeneratedImage(
                        data=p.inline_data.data, mime_type=p.inline_data.mime_type or "image/png"
                    )
                    for p in candidate_parts(response)
                    if p.inline_data is not None and p.inline_data.data
                ]
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        if not images:
            raise Invalid(f"Gemini model {request.model!r} returned no image.", param="model")
        return images

    @common.bounded
    async def test_connection(self) -> None:
        """Fetch one page of models: cheap, and it needs a valid key."""
        try:
            await self.models.list(config={"page_size": 1})
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
