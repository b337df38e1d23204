"""`OpenAIProvider`: OpenAI and every OpenAI-compatible server.

Chat completions, blocking and streamed, are the hot path: the request body is built
here (`convert.chat_kwargs`, the same fields the SDK would send) and sent with orjson over
the shared, policy-enforcing aiohttp client (pinned addresses, redirects off); bodies
and SSE chunks are parsed with orjson straight into core types. Measured against the
fake upstream, that is about a tenth of the CPU of the official SDK on httpx2 per call
(see bench/README.md). Listing models (and the connection test) goes the same way.
Embeddings and images use the official SDK, built on first use (so a process that
never embeds or draws never imports it) over a pooled, policy-enforcing httpx2 client
from `OutboundClients`.

Neither path retries (the core decides) or reads credentials or URLs from the
environment: a user-supplied base URL must not receive the operator's `OPENAI_API_KEY`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx2
import orjson
from yarl import URL

from switchboard import __version__
from switchboard.adapters.http import (
    AIO_ERRORS,
    BlockedUrl,
    OutboundClients,
    aio_error,
    blocked_error,
    parse_retry_after,
    status_error,
)
from switchboard.adapters.providers import common
from switchboard.adapters.providers.openai.convert import StreamState, chat_kwargs, chat_result
from switchboard.adapters.providers.openai.errors import malformed, translated

if TYPE_CHECKING:
    import openai
from switchboard.core.errors import Invalid, UpstreamUnavailable
from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    StreamEvent,
    Usage,
)
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.kit.netpolicy import check_url_syntax

OPENAI_BASE_URL = "https://api.openai.com/v1"
# The SDK refuses to send a request without credentials; keyless local servers (vLLM,
# llama.cpp, LM Studio) accept any bearer, so they get this placeholder.
NO_KEY = "sk-no-key-required"
MAX_MODELS = 5000
# A blocking completion larger than this is not a completion.
MAX_BODY_BYTES = 32 * 1024 * 1024
# One server-sent event (a stream chunk) larger than this is not a chunk.
MAX_EVENT_BYTES = 16 * 1024 * 1024
USER_AGENT = f"switchboard/{__version__}"
_IMAGE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


def _base_url(endpoint: ProviderEndpoint) -> str:
    if endpoint.base_url:
        url = endpoint.base_url
    elif endpoint.provider == "openai":
        url = OPENAI_BASE_URL
    else:
        # Falling back to OpenAI would send this provider's key to the wrong origin.
        raise Invalid(f"no base URL is configured for provider {endpoint.provider!r}")
    try:
        check_url_syntax(url)
    except BlockedUrl as exc:
        raise blocked_error(exc) from None
    return url


class SseEvents:
    """Server-sent events from a byte stream: the `data` of each event, up to `[DONE]`.

    `data:` lines of one event are joined with `\\n`; a blank line ends the event;
    comments, event names, ids and stray blank lines carry nothing. A line or an event
    longer than `limit` bytes is malformed (aiohttp's own `readline` refuses lines over
    128 KiB, and one chunk can carry a whole long answer). Synchronous on purpose: the
    stream's bytes arrive in parts that hold many events, and splitting a part here
    costs a fraction of resuming an async generator once per line.
    """

    def __init__(self, limit: int, what: str) -> None:
        self._limit = limit
        self._what = what
        self._pending = b""
        self._data: list[bytes] = []
        self.done = False  # `[DONE]` was seen; later bytes are ignored

    def feed(self, part: bytes) -> list[bytes]:
        """The events that `part` completes, in order."""
        lines = (self._pending + part if self._pending else part).split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > self._limit:
            raise malformed(self._what)
        return self._events(lines)

    def close(self) -> list[bytes]:
        """The last event, when the stream ended without its blank line."""
        if self.done:
            return []
        events = self._events([self._pending, b""])
        self._pending = b""
        return events

    def _events(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self._data
        for raw_line in lines:
            line = raw_line.rstrip(b"\r")
            if line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
                if len(data) > 1 and sum(map(len, data)) > self._limit:
                    raise malformed(self._what)
            elif not line and data:
                event = data[0] if len(data) == 1 else b"\n".join(data)
                data.clear()
                if event.startswith(b"[DONE]"):
                    self.done = True
                    break
                events.append(event)
        return events


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than `limit` bytes."""
    declared = response.content_length
    if declared is not None and declared > limit:
        return None
    if declared is not None:
        return await response.read()
    parts: list[bytes] = []
    size = 0
    async for part in response.content.iter_any():
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
    return b"".join(parts)


def _capabilities(model_id: str) -> tuple[str, ...]:
    lowered = model_id.lower()
    if "embed" in lowered:
        return ("embeddings",)
    if any(tag in lowered for tag in ("dall-e", "gpt-image", "imagen", "flux", "stable-diff")):
        return ("image",)
    return ("chat",)


class OpenAIProvider:
    """A `ChatProvider` for one OpenAI(-compatible) endpoint and credential."""

    def __init__(
        self,
        endpoint: ProviderEndpoint,
        clients: OutboundClients,
        timeout: float,
        connect_timeout: float,
    ) -> None:
        self._endpoint = endpoint
        self._what = f"the {endpoint.provider} provider"
        self._base_url = _base_url(endpoint)
        self._clients = clients
        self._timeouts = (timeout, connect_timeout)
        self._sdk: openai.AsyncOpenAI | None = None
        self._official = endpoint.provider == "openai" and self._base_url == OPENAI_BASE_URL
        # The hot path: everything per call is prepared once here.
        self._http = clients.aio_client(trusted=endpoint.trusted)
        self._chat_url = URL(self._base_url.rstrip("/") + "/chat/completions")
        self._models_url = URL(self._base_url.rstrip("/") + "/models")
        # Streams: a read timeout between chunks and a cap on the whole stream. Whole
        # calls: an overall deadline, which a server trickling bytes cannot stretch.
        self._request_timeout = aiohttp.ClientTimeout(
            total=common.STREAM_DEADLINE_SECONDS, sock_connect=connect_timeout, sock_read=timeout
        )
        self._call_timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=connect_timeout, sock_read=timeout
        )
        self.deadline_seconds = timeout
        self.vendor = self._what
        base_headers = {
            "Authorization": f"Bearer {endpoint.api_key or NO_KEY}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._json_headers = {**base_headers, "Accept": "application/json"}
        self._sse_headers = {**base_headers, "Accept": "text/event-stream"}

    @property
    def _client(self) -> openai.AsyncOpenAI:
        """The official SDK client, built on first use (the SDK is imported then)."""
        if self._sdk is None:
            import openai

            timeout, connect_timeout = self._timeouts
            http_timeout = httpx2.Timeout(timeout, connect=connect_timeout)
            client = openai.AsyncOpenAI(
                api_key=self._endpoint.api_key or NO_KEY,
                admin_api_key="",  # never pick OPENAI_ADMIN_KEY up from the environment
                base_url=self._base_url,
                http_client=self._clients.httpx2_client(
                    trusted=self._endpoint.trusted, timeout=http_timeout
                ),
                max_retries=0,
                timeout=http_timeout,
            )
            # The SDK reads these from the environment too; they belong to the operator's
            # OpenAI account and must not be sent to other origins.
            client.organization = None
            client.project = None
            self._sdk = client
        return self._sdk

    def __repr__(self) -> str:
        return f"OpenAIProvider(provider={self._endpoint.provider!r}, base_url={self._base_url!r})"

    async def _models_page(self) -> Any:
        """`GET /models`, parsed (over aiohttp, like chat: no SDK needed for it)."""
        try:
            async with self._http.request(
                "GET", self._models_url, headers=self._json_headers, timeout=self._call_timeout
            ) as response:
                await self._refuse(response)
                raw = await _read_capped(response, MAX_BODY_BYTES)
        except AIO_ERRORS as exc:
            raise aio_error(exc, self._what) from None
        if raw is None:
            raise malformed(self._what)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise malformed(self._what) from None

    async def list_models(self) -> list[ModelInfo]:
        """The models the endpoint lists for this key (the first page, as the SDK did)."""
        page = await self._models_page()
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise malformed(self._what)
        models: list[ModelInfo] = []
        for model in data[:MAX_MODELS]:  # a hostile server can list forever
            if isinstance(model, dict) and isinstance(model.get("id"), str):
                models.append(self._model_info(model))
        return models

    def _model_info(self, model: dict[str, Any]) -> ModelInfo:
        model_id: str = model["id"]
        owner = model.get("owned_by")
        return ModelInfo(
            id=model_id,
            provider=self._endpoint.provider,
            name=model_id,
            capabilities=_capabilities(model_id),
            metadata={"owned_by": owner} if isinstance(owner, str) and owner else {},
        )

    def _body(self, request: ChatRequest, *, stream: bool) -> bytes:
        kwargs = chat_kwargs(request, completion_tokens_param=self._official)
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        return orjson.dumps(kwargs)

    async def _refuse(self, response: aiohttp.ClientResponse) -> None:
        """Raise the core error for a non-2xx answer (its body is never quoted)."""
        if response.status < 300:
            return
        retry_after = parse_retry_after(response.headers) if response.status == 429 else None
        raise status_error(response.status, what=self._what, retry_after=retry_after)

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One whole completion."""
        await common.check_image_inputs(self._clients, request)
        body = self._body(request, stream=False)
        try:
            async with self._http.request(
                "POST",
                self._chat_url,
                data=body,
                headers=self._json_headers,
                timeout=self._call_timeout,
            ) as response:
                await self._refuse(response)
                raw = await _read_capped(response, MAX_BODY_BYTES)
        except AIO_ERRORS as exc:
            raise aio_error(exc, self._what) from None
        if raw is None:
            raise malformed(self._what)
        try:
            completion = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise malformed(self._what) from None
        return chat_result(completion)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Deltas in order, then one `StreamEnd`; closing early closes the upstream call.

        `[DONE]` ends the stream, and a chunk carrying `error` is an upstream error.
        """
        await common.check_image_inputs(self._clients, request)
        body = self._body(request, stream=True)
        state = StreamState()
        try:
            # Leaving this block early (the consumer closed us, or cancellation) closes
            # the response without reading it out, which drops the upstream connection.
            async with self._http.request(
                "POST",
                self._chat_url,
                data=body,
                headers=self._sse_headers,
                timeout=self._request_timeout,
            ) as response:
                await self._refuse(response)
                sse = SseEvents(MAX_EVENT_BYTES, self._what)
                async for part in response.content.iter_any():
                    for event in sse.feed(part):
                        for item in self._events(state, event):
                            yield item
                    if sse.done:
                        break
                else:
                    for event in sse.close():
                        for item in self._events(state, event):
                            yield item
        except AIO_ERRORS as exc:
            raise aio_error(exc, self._what) from None
        if not state.finished:
            raise UpstreamUnavailable(
                f"{self._what} ended the stream early", code="upstream_incomplete"
            )
        yield state.end()

    def _events(self, state: StreamState, event: bytes) -> list[StreamEvent]:
        try:
            chunk = orjson.loads(event)
        except orjson.JSONDecodeError:
            raise malformed(self._what) from None
        if isinstance(chunk, dict) and chunk.get("error"):
            raise UpstreamUnavailable(f"{self._what} reported an error", code="upstream_error")
        return state.events(chunk)

    @common.bounded
    async def embed(self, model: str, inputs: list[str]) -> EmbeddingResult:
        """One vector per input, in input order."""
        if not inputs:
            raise Invalid("at least one input is required", param="input")
        with translated(self._what):
            response = await self._client.embeddings.create(
                model=model, input=inputs, encoding_format="float"
            )
        ordered = sorted(response.data, key=lambda item: item.index)
        if len(ordered) != len(inputs):
            raise malformed(self._what)
        usage = response.usage
        return EmbeddingResult(
            vectors=[list(item.embedding) for item in ordered],
            model=response.model or model,
            usage=Usage(prompt_tokens=int(usage.prompt_tokens or 0)) if usage else None,
        )

    @common.bounded
    async def generate_image(self, request: ImageRequest) -> list[GeneratedImage]:
        """Images as bytes when the model can return base64, else as URLs."""
        kwargs: dict[str, Any] = {"model": request.model, "prompt": request.prompt, "n": request.n}
        optional = {"size": request.size, "quality": request.quality, "style": request.style}
        kwargs.update({key: value for key, value in optional.items() if value is not None})
        if not request.model.startswith("gpt-image"):
            # gpt-image models always answer base64 and reject the parameter.
            kwargs["response_format"] = "b64_json"
        with translated(self._what):
            response = await self._client.images.generate(**kwargs)
        mime = _IMAGE_MIME.get(str(getattr(response, "output_format", None) or "png"), "image/png")
        return [self._image(item, mime) for item in (response.data or [])]

    def _image(self, item: openai.types.Image, mime: str) -> GeneratedImage:
        if item.b64_json:
            try:
                data = base64.b64decode(item.b64_json, validate=True)
            except (binascii.Error, ValueError):
                raise malformed(self._what) from None
            return GeneratedImage(data=data, mime_type=mime, revised_prompt=item.revised_prompt)
        if item.url:
            return GeneratedImage(url=item.url, mime_type=mime, revised_prompt=item.revised_prompt)
        raise malformed(self._what)

    async def test_connection(self) -> None:
        """Return when the key works (lists models, first page only)."""
        await self._models_page()
