"""The events a responder emits while it produces one reply.

Text and thinking deltas are `core.llm`'s own types; tool events and usage are added
here. A responder's stream ending without an error means the turn finished.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.core.llm import TextDelta, ThinkingDelta, Usage


@dataclass(frozen=True, slots=True)
class ToolStarted:
    """The model asked for a tool and it is running; `arguments` is the raw JSON text."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolFinished:
    """A tool's answer: `result` when it succeeded, else `error` (the turn goes on)."""

    call_id: str
    name: str
    result: str | None = None
    error: str | None = None

    @property
    def content(self) -> str:
        """What the model is shown: the result, or the error as text."""
        return f"Error: {self.error}" if self.error is not None else self.result or ""


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token counts of one model call inside the turn (an agent loop makes several)."""

    usage: Usage


TurnEvent = TextDelta | ThinkingDelta | ToolStarted | ToolFinished | UsageReport
