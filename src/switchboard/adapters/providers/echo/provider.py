"""`EchoProvider`: a deterministic, offline provider for trying the API without keys.

- chat replies `Echo: <text of the last user message>` (`Echo: ` alone when there is
  none); `max_tokens` cuts the reply to that many words with finish reason `length`;
  tools are accepted and never called.
- stream_chat yields the same reply in word pieces that keep their whitespace, so the
  pieces joined equal the blocking reply, then one `StreamEnd` with the usage.
- usage counts whitespace-separated words (prompt: every message; completion: the reply).
- embed gives 8 floats in [-1, 1] from SHA-256 of each input.
- generate_image gives a 16x16 PNG whose colour comes from the prompt.

It sits on the benchmark hot path, so it does no I/O and no sleeping.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.echo.png import solid_png
from switchboard.core.errors import Invalid
from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    FinishReason,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)
from switchboard.core.providers.ports import ProviderEndpoint

ECHO_MODEL = "echo"
REPLY_PREFIX = "Echo: "
EMBEDDING_DIMENSIONS = 8
IMAGE_SIDE = 16
MAX_IMAGES = 10
_PIECES = re.compile(r"\S+\s*|\s+")


def _pieces(text: str) -> list[str]:
    """Word pieces with their trailing whitespace; joined they give `text` back."""
    return _PIECES.findall(text)


def _words(text: str) -> int:
    return len(text.split())


def _reply(request: ChatRequest) -> tuple[str, FinishReason]:
    last = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
    text = REPLY_PREFIX + last
    if request.max_tokens is not None:
        pieces = _pieces(text)
        if len(pieces) > request.max_tokens:
            return "".join(pieces[: max(request.max_tokens, 0)]), FinishReason.LENGTH
    return text, FinishReason.STOP


def _usage(request: ChatRequest, reply: str) -> Usage:
    prompt = sum(_words(m.text) for m in request.messages)
    return Usage(prompt_tokens=prompt, completion_tokens=_words(reply))


def echo_vector(text: str) -> list[float]:
    """The deterministic embedding of `text`."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round(byte / 127.5 - 1.0, 6) for byte in digest[:EMBEDDING_DIMENSIONS]]


class EchoProvider:
    """A `ChatProvider` that answers from the request alone."""

    def __init__(
        self,
        endpoint: ProviderEndpoint,
        clients: OutboundClients | None = None,
        timeout: float = 0.0,
        connect_timeout: float = 0.0,
    ) -> None:
        # The HTTP clients and timeouts are accepted for a uniform constructor; unused.
        self._provider = endpoint.provider or "echo"

    def __repr__(self) -> str:
        return f"EchoProvider(provider={self._provider!r})"

    async def list_models(self) -> list[ModelInfo]:
        """The single `echo` model."""
        return [
            ModelInfo(
                id=ECHO_MODEL,
                provider=self._provider,
                name="Echo",
                description="Replies with your last message (built in, offline)",
                capabilities=("chat", "embeddings", "image"),
            )
        ]

    async def chat(self, request: ChatRequest) -> ChatResult:
        """`Echo: <last user text>`."""
        text, finish = _reply(request)
        return ChatResult(
            text=text, finish_reason=finish, usage=_usage(request, text), model=request.model
        )

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """The blocking reply in word pieces, then `StreamEnd` with usage."""
        text, finish = _reply(request)
        for piece in _pieces(text):
            yield TextDelta(piece)
        yield StreamEnd(finish_reason=finish, usage=_usage(request, text))

    async def embed(self, model: str, inputs: list[str]) -> EmbeddingResult:
        """8 deterministic floats per input."""
        if not inputs:
            raise Invalid("at least one input is required", param="input")
        return EmbeddingResult(
            vectors=[echo_vector(text) for text in inputs],
            model=model,
            usage=Usage(prompt_tokens=sum(_words(text) for text in inputs)),
        )

    async def generate_image(self, request: ImageRequest) -> list[GeneratedImage]:
        """`n` identical small PNGs coloured by the prompt."""
        if not 1 <= request.n <= MAX_IMAGES:
            raise Invalid(f"n must be between 1 and {MAX_IMAGES}", param="n")
        digest = hashlib.sha256(request.prompt.encode()).digest()
        png = solid_png(IMAGE_SIDE, IMAGE_SIDE, (digest[0], digest[1], digest[2]))
        image = GeneratedImage(data=png, mime_type="image/png", revised_prompt=request.prompt)
        return [image] * request.n

    async def test_connection(self) -> None:
        """Always works."""
        return None
