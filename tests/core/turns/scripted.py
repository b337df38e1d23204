"""A provider that plays scripted model calls, and tools that can be held mid-run.

Core tests of turns need to stop a reply at an exact point (before the first token, in
the middle of the text, while a tool runs, during the second model call); a `Hold` in a
script parks the call there until the test releases it, and tells the test it got there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    FinishReason,
    ModelInfo,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)


@dataclass
class Hold:
    """A point where a scripted call (or a tool) waits until released."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False

    async def wait(self) -> None:
        """Signal arrival, then wait for the release (recording a cancellation)."""
        self.reached.set()
        try:
            await self.released.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


Step = StreamEvent | Hold


def calls_tool(name: str, arguments: str, *, call_id: str = "call_1") -> list[Step]:
    """A model call that asks for one tool, its arguments streamed in two pieces."""
    half = len(arguments) // 2
    return [
        ToolCallDelta(0, id=call_id, name=name, arguments=arguments[:half]),
        ToolCallDelta(0, arguments=arguments[half:]),
        StreamEnd(FinishReason.TOOL_CALLS, Usage(10, 5)),
    ]


def says(*pieces: str, usage: Usage | None = None) -> list[Step]:
    """A model call that answers with text, piece by piece."""
    return [*(TextDelta(p) for p in pieces), StreamEnd(FinishReason.STOP, usage or Usage(10, 3))]


class ScriptedProvider:
    """Plays one script per model call, in order; records every request it got."""

    def __init__(self, *calls: list[Step]) -> None:
        self._calls = list(calls)
        self.requests: list[ChatRequest] = []
        self.closed_early = 0

    async def list_models(self) -> list[ModelInfo]:
        """One model."""
        return [ModelInfo(id="scripted", provider="echo")]

    async def test_connection(self) -> None:
        """Always works."""

    def _next(self, request: ChatRequest) -> list[Step]:
        self.requests.append(request)
        assert self._calls, "the provider was called more often than scripted"
        return self._calls.pop(0)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """The next script, event by event; holds wait where they stand."""
        finished = False
        try:
            for step in self._next(request):
                if isinstance(step, Hold):
                    await step.wait()
                else:
                    yield step
            finished = True
        finally:
            if not finished:
                self.closed_early += 1

    async def chat(self, request: ChatRequest) -> ChatResult:
        """The next script, assembled into one completion."""
        text, thinking, calls, usage = "", "", dict[int, ToolCall](), None
        for step in self._next(request):
            if isinstance(step, Hold):
                await step.wait()
            elif isinstance(step, TextDelta):
                text += step.text
            elif isinstance(step, ThinkingDelta):
                thinking += step.text
            elif isinstance(step, ToolCallDelta):
                known = calls.get(step.index) or ToolCall(step.id or "", step.name or "", "")
                calls[step.index] = ToolCall(known.id, known.name, known.arguments + step.arguments)
            elif isinstance(step, StreamEnd):
                usage = step.usage
        reason = FinishReason.TOOL_CALLS if calls else FinishReason.STOP
        return ChatResult(text, reason, usage, tuple(calls.values()), thinking=thinking)


class Tools:
    """A `ToolRunner` with named async functions; records each call's arguments."""

    def __init__(self, **tools: Any) -> None:
        self._tools = tools
        self.calls: list[ToolCall] = []

    def specs(self) -> list[ToolSpec]:
        """Every tool, with an open parameters schema."""
        return [ToolSpec(name, f"the {name} tool", {"type": "object"}) for name in self._tools]

    async def run(self, call: ToolCall) -> str:
        """Call the named tool with the call's raw arguments."""
        self.calls.append(call)
        result: str = await self._tools[call.name](call.arguments)
        return result
