"""What produces a reply (`Responder`) and what runs the tools a model calls (`ToolRunner`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from switchboard.core.llm import ChatRequest, ToolCall, ToolSpec
from switchboard.core.providers.ports import ChatProvider
from switchboard.core.turns.events import TurnEvent


@dataclass(frozen=True, slots=True)
class Turn:
    """One reply to produce: the model call with the history, and how to call it.

    `stream` asks the responder to stream from the provider (deltas as they come); a
    blocking turn may call the provider's whole-completion API instead.
    """

    provider: ChatProvider
    request: ChatRequest
    stream: bool = True


class Responder(Protocol):
    """Produces a reply as turn events: text and thinking deltas, tool events, usage.

    The stream ends normally when the reply is finished; a `SwitchboardError` ends it as
    failed. Closing the stream early (stop, client gone, shutdown) cancels the work in
    flight: the provider call, or a tool.
    """

    def respond(self, turn: Turn) -> AsyncIterator[TurnEvent]:
        """The events of `turn`, in order."""
        ...


class ToolRunner(Protocol):
    """The tools offered to a model, and how a call of one is carried out."""

    def specs(self) -> list[ToolSpec]:
        """The tools to offer, with their JSON-schema parameters."""
        ...

    async def run(self, call: ToolCall) -> str:
        """Carry out `call` and return its result as text.

        Any exception it raises becomes a tool result with an error: the model is told
        and the turn goes on. Cancellation is the exception: it ends the turn.
        """
        ...
