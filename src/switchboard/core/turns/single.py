"""The plain responder: one provider call, its text (and thinking) as it comes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from switchboard.core.llm import StreamEnd, TextDelta, ThinkingDelta
from switchboard.core.turns.events import TurnEvent, UsageReport
from switchboard.core.turns.ports import Turn
from switchboard.kit.aiter import closing


class SingleCall:
    """Asks the model once. Tool-call deltas are ignored: no tools are offered."""

    async def respond(self, turn: Turn) -> AsyncIterator[TurnEvent]:
        """Stream the provider's reply, or (blocking turn) its whole completion."""
        if not turn.stream:
            result = await turn.provider.chat(turn.request)
            if result.thinking:
                yield ThinkingDelta(result.thinking)
            yield TextDelta(result.text)
            if result.usage is not None:
                yield UsageReport(result.usage)
            return
        async with closing(turn.provider.stream_chat(turn.request)) as upstream:
            async for event in upstream:
                if isinstance(event, TextDelta | ThinkingDelta):
                    yield event
                elif isinstance(event, StreamEnd) and event.usage is not None:
                    yield UsageReport(event.usage)
