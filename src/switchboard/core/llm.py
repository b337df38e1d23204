"""The neutral vocabulary every provider adapter and every face speaks.

Faces translate their wire formats into these types; adapters translate these into
vendor SDK calls. Nothing here knows about HTTP or any vendor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


class FinishReason(StrEnum):
    """Why the model stopped, in OpenAI's vocabulary (the lingua franca)."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given to the model by URL (https or data:)."""

    url: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class TextPart:
    """Plain text inside a multi-part message."""

    text: str


ContentPart = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for; `arguments` is the raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call, with its JSON-schema parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation."""

    role: Role
    content: str | list[ContentPart] = ""
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """The text of the message, with image parts left out."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


@dataclass(frozen=True, slots=True)
class ModelRef:
    """`provider/model`, e.g. `openai/gpt-4o-mini` or `echo/echo`."""

    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """Everything a provider needs for one completion."""

    model: str
    messages: list[ChatMessage]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    tools: list[ToolSpec] | None = None
    # "auto" | "none" | "required" | {"type": "function", "function": {"name": ...}}
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    user: str | None = None
    # Ask for the model's reasoning where the vendor can show it: "low" | "medium" |
    # "high" (OpenAI's reasoning_effort; a thinking budget or switch elsewhere).
    reasoning: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A whole completion."""

    text: str
    finish_reason: FinishReason = FinishReason.STOP
    usage: Usage | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    model: str | None = None
    # The model's reasoning, where the vendor returns it apart from the answer.
    thinking: str = ""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply's text, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of the model's reasoning ("thinking"), shown apart from the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call: the first piece for an index carries id and name."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last event of every successful stream."""

    finish_reason: FinishReason = FinishReason.STOP
    usage: Usage | None = None


StreamEvent = TextDelta | ThinkingDelta | ToolCallDelta | StreamEnd


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model in a provider's catalog."""

    id: str
    provider: str
    name: str | None = None
    description: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    capabilities: tuple[str, ...] = ("chat",)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """One vector per input, in input order."""

    vectors: list[list[float]]
    model: str
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """An image generation request."""

    model: str
    prompt: str
    size: str | None = None
    quality: str | None = None
    n: int = 1
    style: str | None = None


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    """One generated image: raw bytes or a URL the provider returned."""

    data: bytes | None = None
    url: str | None = None
    mime_type: str = "image/png"
    revised_prompt: str | None = None
