"""A reply's typed parts: what a turn said, thought and did, in order, as stored JSON.

A plain reply has one text part and stores none (its `content` says it all). A turn with
thinking or tools stores its parts on the message, so that the history replays tool
calls and their results to the model and every face can show them:

    {"type": "text", "text": ...}
    {"type": "thinking", "text": ...}
    {"type": "tool_call", "id": ..., "name": ..., "arguments": <JSON text>}
    {"type": "tool_result", "tool_call_id": ..., "name": ..., "content": ..., "is_error": bool}
"""

from __future__ import annotations

from typing import Any

from switchboard.core.llm import ChatMessage, TextDelta, ThinkingDelta, ToolCall
from switchboard.core.turns.events import ToolFinished, ToolStarted, TurnEvent

Part = dict[str, Any]


class PartsBuilder:
    """Collects a turn's events into parts; consecutive deltas join into one part."""

    def __init__(self) -> None:
        self.parts: list[Part] = []

    def add(self, event: TurnEvent) -> None:
        """Record one event (usage is not a part)."""
        if isinstance(event, TextDelta):
            self._append_text("text", event.text)
        elif isinstance(event, ThinkingDelta):
            self._append_text("thinking", event.text)
        elif isinstance(event, ToolStarted):
            self.parts.append(
                {
                    "type": "tool_call",
                    "id": event.call_id,
                    "name": event.name,
                    "arguments": event.arguments,
                }
            )
        elif isinstance(event, ToolFinished):
            self.parts.append(
                {
                    "type": "tool_result",
                    "tool_call_id": event.call_id,
                    "name": event.name,
                    "content": event.content,
                    "is_error": event.error is not None,
                }
            )

    def stored(self) -> list[Part] | None:
        """The parts worth storing: None when the reply is plain text."""
        if all(part["type"] == "text" for part in self.parts):
            return None
        return self.parts

    def _append_text(self, kind: str, text: str) -> None:
        if not text:
            return
        if self.parts and self.parts[-1]["type"] == kind:
            self.parts[-1]["text"] += text
        else:
            self.parts.append({"type": kind, "text": text})


def replay(parts: list[Part]) -> list[ChatMessage]:
    """A stored turn as the messages the model saw and said: each step's text and tool
    calls as an assistant message, each tool result as a tool message. Thinking is not
    replayed (vendors do not take it back, or only with their own signatures)."""
    # A call without a result (the turn was stopped while the tool ran) is left out:
    # vendors refuse a tool call that no tool message answers.
    answered = {p.get("tool_call_id") for p in parts if p.get("type") == "tool_result"}
    messages: list[ChatMessage] = []
    text: list[str] = []
    calls: list[ToolCall] = []

    def close_step() -> None:
        if text or calls:
            messages.append(
                ChatMessage(role="assistant", content="".join(text), tool_calls=tuple(calls))
            )
            text.clear()
            calls.clear()

    for part in parts:
        kind = part.get("type")
        if kind == "text":
            if calls:  # text after tool calls belongs to the next step
                close_step()
            text.append(str(part.get("text", "")))
        elif kind == "tool_call" and part.get("id") in answered:
            calls.append(
                ToolCall(
                    id=str(part.get("id", "")),
                    name=str(part.get("name", "")),
                    arguments=str(part.get("arguments", "")),
                )
            )
        elif kind == "tool_result":
            close_step()
            messages.append(
                ChatMessage(
                    role="tool",
                    content=str(part.get("content", "")),
                    name=str(part.get("name", "")) or None,
                    tool_call_id=str(part.get("tool_call_id", "")),
                )
            )
    close_step()
    return messages
