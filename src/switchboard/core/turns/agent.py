"""The agent loop: offer tools, run the ones the model calls, feed results back, repeat.

Bounded twice: at most `max_steps` rounds of tool calls (the model is then asked once
more without tools, so it answers with what it has), and at most `max_seconds` for the
whole turn, model calls and tools together (then the turn ends with `TurnTimeLimit`,
keeping what was said).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import structlog

from switchboard.core.errors import SwitchboardError, Timeout
from switchboard.core.llm import (
    ChatMessage,
    ChatRequest,
    StreamEnd,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
)
from switchboard.core.turns.events import ToolFinished, ToolStarted, TurnEvent, UsageReport
from switchboard.core.turns.ports import ToolRunner, Turn
from switchboard.kit.aiter import closing

log = structlog.get_logger(__name__)

DEFAULT_MAX_STEPS = 8
DEFAULT_MAX_SECONDS = 300.0
# What a failed tool tells the model, at most: enough to correct a call, not a traceback.
MAX_TOOL_ERROR = 500

T = TypeVar("T")


class TurnTimeLimit(Timeout):
    """The agent loop ran out of its time."""

    default_code = "turn_time_limit"


@dataclass
class _Step:
    """What the model said in one call: its text and the tools it asked for."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, ToolCall] = field(default_factory=dict)

    def add_call_delta(self, delta: ToolCallDelta) -> None:
        known = self.calls.get(delta.index)
        if known is None:
            self.calls[delta.index] = ToolCall(delta.id or "", delta.name or "", delta.arguments)
        else:
            self.calls[delta.index] = replace(known, arguments=known.arguments + delta.arguments)

    def tool_calls(self, step: int) -> tuple[ToolCall, ...]:
        """The calls in order, each with an id (vendors without ids get one made up)."""
        return tuple(
            call if call.id else replace(call, id=f"call_{step}_{index}")
            for index, call in sorted(self.calls.items())
        )


class AgentLoop:
    """A responder that lets the model use `tools` until it answers."""

    def __init__(
        self,
        tools: ToolRunner,
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> None:
        self._tools = tools
        self._max_steps = max_steps
        self._max_seconds = max_seconds

    async def respond(self, turn: Turn) -> AsyncIterator[TurnEvent]:
        """Model calls and tool runs, as events, until the model answers without tools."""
        deadline = asyncio.get_running_loop().time() + self._max_seconds
        messages = list(turn.request.messages)
        specs = self._tools.specs()
        for step in range(self._max_steps + 1):
            offer = bool(specs) and step < self._max_steps
            request = replace(
                turn.request,
                messages=list(messages),
                tools=specs if offer else None,
                tool_choice=turn.request.tool_choice if offer else None,
            )
            said = _Step()
            async for event in self._ask(turn, request, said, deadline):
                yield event
            calls = said.tool_calls(step) if offer else ()
            if not calls:
                return
            messages.append(ChatMessage("assistant", "".join(said.text), tool_calls=calls))
            for call in calls:
                yield ToolStarted(call.id, call.name, call.arguments)
                finished = await self._within(deadline, self._run_tool(call))
                yield finished
                messages.append(
                    ChatMessage("tool", finished.content, name=call.name, tool_call_id=call.id)
                )

    async def _ask(
        self, turn: Turn, request: ChatRequest, said: _Step, deadline: float
    ) -> AsyncIterator[TurnEvent]:
        """One model call: its text and thinking as events, its tool calls into `said`."""
        if not turn.stream:
            result = await self._within(deadline, turn.provider.chat(request))
            if result.thinking:
                yield ThinkingDelta(result.thinking)
            if result.text:
                said.text.append(result.text)
                yield TextDelta(result.text)
            said.calls = dict(enumerate(result.tool_calls))
            if result.usage is not None:
                yield UsageReport(result.usage)
            return
        async with closing(turn.provider.stream_chat(request)) as upstream:
            while True:
                try:
                    event = await self._within(deadline, anext(upstream))
                except StopAsyncIteration:
                    return
                if isinstance(event, TextDelta):
                    said.text.append(event.text)
                    yield event
                elif isinstance(event, ThinkingDelta):
                    yield event
                elif isinstance(event, ToolCallDelta):
                    said.add_call_delta(event)
                elif isinstance(event, StreamEnd) and event.usage is not None:
                    yield UsageReport(event.usage)

    async def _within(self, deadline: float, work: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout_at(deadline):
                return await work
        except TimeoutError:
            raise TurnTimeLimit(
                f"The reply did not finish within {self._max_seconds:g} seconds"
            ) from None

    async def _run_tool(self, call: ToolCall) -> ToolFinished:
        """Run one call; whatever the tool raises becomes the result's error.

        The tool runs in its own task, whose exception is read rather than caught, so
        that no blanket `except` can swallow a cancellation of this turn.
        """
        task = asyncio.ensure_future(self._tools.run(call))
        try:
            await asyncio.wait({task})
        finally:
            if not task.done():  # this turn was cancelled: so is its tool
                task.cancel()
                await asyncio.wait({task})
        if task.cancelled():
            return ToolFinished(call.id, call.name, error="The tool was cancelled")
        exc = task.exception()
        if exc is None:
            return ToolFinished(call.id, call.name, result=task.result())
        log.warning("tool_failed", tool=call.name, error=type(exc).__name__, exc_info=exc)
        return ToolFinished(call.id, call.name, error=_describe(exc))


def _describe(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, SwitchboardError) else str(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:MAX_TOOL_ERROR]
