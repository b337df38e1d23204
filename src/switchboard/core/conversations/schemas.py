"""Conversations and messages as the core hands them to faces."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MessageStatus(StrEnum):
    """Where a message stands. Partial and error replies keep their text and a reason."""

    STREAMING = "streaming"
    COMPLETE = "complete"
    PARTIAL = "partial"
    ERROR = "error"


class ConversationCreate(BaseModel):
    """A new conversation. `settings` holds model parameters, never a secret."""

    title: str = Field(default="New conversation", max_length=500)
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    connection_id: str | None = None
    source: str | None = None
    external_id: str | None = Field(default=None, max_length=200)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ConversationUpdate(BaseModel):
    """A partial change; fields left unset stay as they are."""

    title: str | None = Field(default=None, max_length=500)
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    settings: dict[str, Any] | None = None
    connection_id: str | None = None
    attributes: dict[str, Any] | None = None


class ConversationRead(BaseModel):
    """A conversation without its messages."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: str
    title: str
    provider: str | None
    model: str | None
    system_prompt: str | None
    settings: dict[str, Any]
    connection_id: str | None
    source: str | None
    external_id: str | None
    attributes: dict[str, Any]
    message_count: int = Field(validation_alias="last_seq")
    created_at: datetime
    updated_at: datetime


class MessageRead(BaseModel):
    """One stored message."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    seq: int
    role: str
    content: str
    status: MessageStatus
    status_reason: str | None
    provider: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    first_token_ms: float | None
    attributes: dict[str, Any]
    # Thinking, tool calls and tool results in order (`core.turns.parts`); None when the
    # reply is plain text.
    parts: list[dict[str, Any]] | None = None
    created_at: datetime
    completed_at: datetime | None
