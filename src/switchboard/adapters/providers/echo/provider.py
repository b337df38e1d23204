"""`EchoProvider`: a deterministic, offline provider for trying the API without keys.

- chat replies `Echo: <text of the last user message>` (`Echo: ` alone when there is
  none); `max_tokens` cuts the reply to that many words with finish reason `length`.
- tool calling, so agent loops run with zero set-up: when the request offers tools and
  the last message is a user message `!tool <name> <json-args>` (`<name>` one of the
  offered tools, the arguments a JSON object, `{}` when left out), the reply is that one
  call (id `echo-call-0`, finish reason `tool_calls`, no text). When the last messages
  are tool results, the reply is `tool <name> said: <result>` (several joined by `; `).
  Anything else gets the ordinary echo.
- thinking: when `request.reasoning` is set, the reply carries the thinking
  `Thinking about: <text of the last message>` (streamed first, as one `ThinkingDelta`).
- stream_chat yields the same reply in word pieces that keep their whitespace, so the
  pieces joined equal the blocking reply (a tool call as one `ToolCallDelta` with id and
  name, then one with the arguments), then one `StreamEnd` with the usage.
- usage counts whitespace-separated words (prompt: every message; completion: the reply).
- embed gives 8 floats in [-1, 1] from SHA-256 of each input.
- generate_image gives a 16x16 PNG whose colour comes from the prompt.

It sits on the benchmark hot path, so it does no I/O and no sleeping.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.echo.png import solid_png
from switchboard.core.errors import Invalid
from switchboard.core.llm import (
    ChatMessage,
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
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from switchboard.core.providers.ports import ProviderEndpoint

ECHO_MODEL = "echo"
REPLY_PREFIX = "Echo: "
TOOL_COMMAND = "!tool "
TOOL_CALL_ID = "echo-call-0"
THINKING_PREFIX = "Thinking about: "
EMBEDDING_DIMENSIONS = 8
IMAGE_SIDE = 16
MAX_IMAGES = 10
_PIECES = re.compile(r"\S+\s*|\s+")


def _pieces(text: str) -> list[str]:
    """Word pieces with their trailing whitespace; joined they give `text` back."""
    return _PIECES.findall(text)


def _words(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True, slots=True)
class _Reply:
    text: str
    finish: FinishReason
    call: ToolCall | None = None
    thinking: str = ""


def _tool_command(request: ChatRequest) -> ToolCall | None:
    """The call a trailing `!tool <name> <json-args>` user message asks for, if valid."""
    last = request.messages[-1] if request.messages else None
    if not request.tools or last is None or last.role != "user":
        return None
    if not last.text.startswith(TOOL_COMMAND):
        return None
    name, _, arguments = last.text[len(TOOL_COMMAND) :].strip().partition(" ")
    arguments = arguments.strip() or "{}"
    if name not in {tool.name for tool in request.tools}:
        return None
    try:
        if not isinstance(json.loads(arguments), dict):
            return None
    except ValueError:
        return None
    return ToolCall(id=TOOL_CALL_ID, name=name, arguments=arguments)


def _tool_results(messages: list[ChatMessage]) -> str | None:
    """`tool <name> said: <result>` for the trailing tool results, if the last is one."""
    results: list[ChatMessage] = []
    for message in reversed(messages):
        if message.role != "tool":
            break
        results.insert(0, message)
    if not results:
        return None
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    return "; ".join(
        f"tool {m.name or names.get(m.tool_call_id or '', 'unknown')} said: {m.text}"
        for m in results
    )


def _text_reply(request: ChatRequest) -> tuple[str, FinishReason]:
    text = _tool_results(request.messages)
    if text is None:
        last = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
        text = REPLY_PREFIX + last
    if request.max_tokens is not None:
        pieces = _pieces(text)
        if len(pieces) > request.max_tokens:
            return "".join(pieces[: max(request.max_tokens, 0)]), FinishReason.LENGTH
    return text, FinishReason.STOP


def _reply(request: ChatRequest) -> _Reply:
    thinking = ""
    if request.reasoning:
        thinking = THINKING_PREFIX + (request.messages[-1].text if request.messages else "")
    call = _tool_command(request)
    if call is not None:
        return _Reply("", FinishReason.TOOL_CALLS, call, thinking)
    text, finish = _text_reply(request)
    return _Reply(text, finish, None, thinking)


def _usage(request: ChatRequest, reply: _Reply) -> Usage:
    prompt = sum(_words(m.text) for m in request.messages)
    completion = _words(reply.text) + _words(reply.thinking)
    if reply.call is not None:
        completion += 1 + _words(reply.call.arguments)
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


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
        """`Echo: <last user text>`, a `!tool` call, or what the tools said."""
        reply = _reply(request)
        return ChatResult(
            text=reply.text,
            finish_reason=reply.finish,
            usage=_usage(request, reply),
            tool_calls=(reply.call,) if reply.call is not None else (),
            model=request.model,
            thinking=reply.thinking,
        )

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """The blocking reply in pieces (thinking first), then `StreamEnd` with usage."""
        reply = _reply(request)
        if reply.thinking:
            yield ThinkingDelta(reply.thinking)
        for piece in _pieces(reply.text):
            yield TextDelta(piece)
        if reply.call is not None:
            yield ToolCallDelta(index=0, id=reply.call.id, name=reply.call.name)
            yield ToolCallDelta(index=0, arguments=reply.call.arguments)
        yield StreamEnd(finish_reason=reply.finish, usage=_usage(request, reply))

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
