"""The OpenAI adapter's server-sent-event reader, fed the way a socket delivers bytes."""

from __future__ import annotations

import pytest

from switchboard.adapters.providers.openai.provider import SseEvents
from switchboard.core.errors import UpstreamUnavailable

STREAM = (
    b": keep-alive comment\r\n"
    b"\r\n"
    b'data: {"a":1}\r\n'
    b"\r\n"
    b"event: message\n"
    b"id: 7\n"
    b'data: {"b":\n'
    b"data: 2}\n"
    b"\n"
    b"\n"
    b'data:{"c":3}\n'
    b"\n"
    b"data: [DONE]\n"
    b"\n"
    b'data: {"after":"done"}\n'
    b"\n"
)
EXPECTED = [b'{"a":1}', b'{"b":\n2}', b'{"c":3}']


def read_all(parts: list[bytes], limit: int = 1024) -> tuple[list[bytes], bool]:
    sse = SseEvents(limit, "the fake")
    events: list[bytes] = []
    for part in parts:
        events += sse.feed(part)
        if sse.done:
            return events, True
    return events + sse.close(), sse.done


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(STREAM)])
def test_events_are_the_same_however_the_bytes_are_cut(size: int) -> None:
    parts = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert read_all(parts) == (EXPECTED, True)


def test_a_last_event_without_its_blank_line_still_counts() -> None:
    assert read_all([b'data: {"a":1}\n\ndata: {"z":26}']) == ([b'{"a":1}', b'{"z":26}'], False)
    assert read_all([b'data: {"a":1}\n\ndata: [DONE]']) == ([b'{"a":1}'], True)


def test_an_overlong_line_is_malformed_before_it_ends() -> None:
    sse = SseEvents(16, "the fake")
    with pytest.raises(UpstreamUnavailable):
        sse.feed(b"data: " + b"x" * 32)


def test_an_overlong_event_of_many_lines_is_malformed() -> None:
    sse = SseEvents(16, "the fake")
    with pytest.raises(UpstreamUnavailable):
        sse.feed(b"data: 0123456789\ndata: 0123456789\n")
