"""`POST /api/chat`: the request as the document gives it, and the answer's shape."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.core.llm import ChatMessage, ChatResult
from switchboard.faces.spoonfeeder.settings_schemas import ProviderName

MAX_MESSAGES = 1000


class Message(BaseModel):
    """One conversation message."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    # Bounded by the request body's limit (as the OpenAI face's messages): a length limit
    # of its own could only ever answer 413 first.
    content: str


class ChatBody(BaseModel):
    """`{provider, model?, profileId?, messages}`."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderName
    model: str | None = Field(None, min_length=1, max_length=256)
    profile_id: str | None = Field(None, alias="profileId", min_length=1, max_length=64)
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)

    def core_messages(self) -> list[ChatMessage]:
        """The messages as the providers take them."""
        return [ChatMessage(role=m.role, content=m.content) for m in self.messages]


def chat_answer(provider: str, model: str, result: ChatResult) -> dict[str, Any]:
    """`{response, provider, model, usage}`, plus the original server's `role` and
    `content` (the same text) for its web app; `usage` is null when the provider
    reported none."""
    usage = result.usage
    return {
        "response": result.text,
        "provider": provider,
        "model": model,
        "usage": None
        if usage is None
        else {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        },
        "role": "assistant",
        "content": result.text,
    }
