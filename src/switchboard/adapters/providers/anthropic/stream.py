"""Anthropic's streaming events folded into neutral stream events.

Thinking blocks stream as `thinking_delta`s (each a `ThinkingDelta`); their closing
`signature_delta` and redacted thinking carry nothing the neutral stream can show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from anthropic.types import (
    InputJSONDelta,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    RawMessageStreamEvent,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
)

from switchboard.core import llm
from switchboard.core.llm import StreamEnd, StreamEvent, ToolCallDelta, Usage

from .translate import finish_reason, usage


@dataclass
class StreamState:
    """What a stream has said so far: tool block numbering, stop reason and usage."""

    tool_index: dict[int, int] = field(default_factory=dict)
    stop_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stopped: bool = False

    def events(self, event: RawMessageStreamEvent) -> list[StreamEvent]:
        """The neutral events one Anthropic event produces (often none)."""
        if isinstance(event, RawMessageStartEvent):
            start = usage(event.message.usage)
            self.prompt_tokens = start.prompt_tokens
            self.completion_tokens = start.completion_tokens
        elif isinstance(event, RawContentBlockStartEvent):
            return self._block_start(event)
        elif isinstance(event, RawContentBlockDeltaEvent):
            return self._block_delta(event)
        elif isinstance(event, RawMessageDeltaEvent):
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            # message_delta usage is cumulative, so it replaces what came before.
            self.completion_tokens = event.usage.output_tokens
            if event.usage.input_tokens is not None:
                self.prompt_tokens = (
                    event.usage.input_tokens
                    + (event.usage.cache_creation_input_tokens or 0)
                    + (event.usage.cache_read_input_tokens or 0)
                )
        elif isinstance(event, RawMessageStopEvent):
            self.stopped = True
        return []

    def _block_start(self, event: RawContentBlockStartEvent) -> list[StreamEvent]:
        block = event.content_block
        if isinstance(block, ToolUseBlock):
            index = len(self.tool_index)
            self.tool_index[event.index] = index
            return [ToolCallDelta(index=index, id=block.id, name=block.name)]
        if isinstance(block, TextBlock) and block.text:
            return [llm.TextDelta(block.text)]
        if isinstance(block, ThinkingBlock) and block.thinking:
            return [llm.ThinkingDelta(block.thinking)]
        return []

    def _block_delta(self, event: RawContentBlockDeltaEvent) -> list[StreamEvent]:
        delta = event.delta
        if isinstance(delta, TextDelta) and delta.text:
            return [llm.TextDelta(delta.text)]
        if isinstance(delta, ThinkingDelta) and delta.thinking:
            return [llm.ThinkingDelta(delta.thinking)]
        if isinstance(delta, InputJSONDelta) and delta.partial_json:
            index = self.tool_index.get(event.index)
            if index is not None:
                return [ToolCallDelta(index=index, arguments=delta.partial_json)]
        return []

    def end(self) -> StreamEnd:
        """The closing event, with the final stop reason and usage."""
        return StreamEnd(
            finish_reason=finish_reason(self.stop_reason),
            usage=Usage(self.prompt_tokens, self.completion_tokens),
        )
