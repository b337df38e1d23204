"""The OpenAI face's stream framing, one write at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from switchboard.core import llm
from switchboard.core.errors import UpstreamUnavailable
from switchboard.faces.openai.translate import completion_chunks
from tests.fixtures.sse import SseEvent, parse_sse


async def _events(*items: llm.StreamEvent, fail: bool = False) -> AsyncIterator[llm.StreamEvent]:
    for item in items:
        yield item
    if fail:
        raise UpstreamUnavailable("the openai provider dropped the connection")


def _frames(write: bytes) -> list[Any]:
    """The frames of one write: whole `data:`-only events, JSON or `[DONE]`."""
    assert write.endswith(b"\n\n")  # a write never ends inside a frame
    events = parse_sse(write, comments=True)
    assert all(event == SseEvent(data=event.data) for event in events)  # nothing but data
    return [event.data if event.data == "[DONE]" else event.json() for event in events]


async def _writes(events: AsyncIterator[llm.StreamEvent], include_usage: bool) -> list[list[Any]]:
    return [_frames(write) async for write in completion_chunks("m", events, include_usage)]


async def test_role_rides_with_the_first_delta_and_the_closing_frames_go_together() -> None:
    end = llm.StreamEnd(usage=llm.Usage(prompt_tokens=3, completion_tokens=2))
    writes = await _writes(_events(llm.TextDelta("a"), llm.TextDelta("b"), end), True)

    assert [len(w) for w in writes] == [2, 1, 3]
    role, first = writes[0]
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert first["choices"][0]["delta"] == {"content": "a"}
    assert writes[1][0]["choices"][0]["delta"] == {"content": "b"}
    finish, usage, done = writes[2]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 5
    assert done == "[DONE]"


async def test_without_usage_the_last_write_is_finish_and_done() -> None:
    writes = await _writes(_events(llm.TextDelta("a"), llm.StreamEnd()), False)

    assert [len(w) for w in writes] == [2, 2]
    assert writes[1][0]["choices"][0]["finish_reason"] == "stop"
    assert writes[1][1] == "[DONE]"


async def test_a_failure_before_any_delta_still_sends_the_role_then_the_error() -> None:
    writes = await _writes(_events(fail=True), False)

    assert len(writes) == 1
    role, error = writes[0]
    assert role["choices"][0]["delta"]["role"] == "assistant"
    assert "error" in error
    assert "[DONE]" not in writes[0]
