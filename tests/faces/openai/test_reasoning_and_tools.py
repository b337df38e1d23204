"""`/v1/chat/completions` carries reasoning (`reasoning_effort` in, `reasoning_content`
out, as DeepSeek names it) and tool calls, end to end through the built-in echo."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures.app import Harness, User
from tests.fixtures.sse import parse_sse

pytestmark = pytest.mark.asyncio

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object"}},
}


async def complete(harness: Harness, user: User, **body: Any) -> Any:
    """A blocking completion of echo's model, as JSON (status asserted 200)."""
    response = await harness.client.post(
        "/v1/chat/completions", headers=user.headers, json={"model": "echo/echo", **body}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def deltas(harness: Harness, user: User, **body: Any) -> list[dict[str, Any]]:
    """The deltas of a streamed completion, in order."""
    response = await harness.client.post(
        "/v1/chat/completions",
        headers=user.headers,
        json={"model": "echo/echo", "stream": True, **body},
    )
    assert response.status_code == 200, response.text
    frames = [event.data for event in parse_sse(response.text)]
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(frame) for frame in frames[:-1]]
    return [
        c["choices"][0]["delta"] | {"_finish": c["choices"][0]["finish_reason"]} for c in chunks
    ]


def hello(**extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "hello"}], **extra}


class TestReasoning:
    async def test_blocking_message_carries_reasoning_content(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        body = await complete(harness, user, **hello(reasoning_effort="low"))
        message = body["choices"][0]["message"]
        assert message["reasoning_content"] == "Thinking about: hello"
        assert message["content"] == "Echo: hello"

    async def test_stream_sends_reasoning_before_content(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        pieces = await deltas(harness, user, **hello(reasoning_effort="high"))
        reasoning = [i for i, d in enumerate(pieces) if d.get("reasoning_content")]
        content = [i for i, d in enumerate(pieces) if d.get("content")]
        assert reasoning and content and max(reasoning) < min(content)
        assert "".join(pieces[i]["reasoning_content"] for i in reasoning) == "Thinking about: hello"

    async def test_reasoning_sent_back_in_history_is_accepted(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        first = await complete(harness, user, **hello(reasoning_effort="low"))
        history = [
            {"role": "user", "content": "hello"},
            first["choices"][0]["message"],
            {"role": "user", "content": "again"},
        ]
        body = await complete(harness, user, messages=history)
        assert body["choices"][0]["message"]["content"] == "Echo: again"

    @pytest.mark.parametrize("effort", [None, "none"])
    async def test_no_reasoning_unless_asked(self, harness: Harness, effort: str | None) -> None:
        user = await harness.user("a@example.com")
        extra = {"reasoning_effort": effort} if effort else {}
        body = await complete(harness, user, **hello(**extra))
        assert "reasoning_content" not in body["choices"][0]["message"]

    async def test_unknown_effort_is_refused(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": "echo/echo", **hello(reasoning_effort="extreme")},
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == "reasoning_effort"


class TestToolLoop:
    async def test_a_call_and_its_result_round_trip(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        asking = [{"role": "user", "content": '!tool get_weather {"city": "Oslo"}'}]
        body = await complete(harness, user, messages=asking, tools=[WEATHER])
        choice = body["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        [call] = choice["message"]["tool_calls"]
        assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
        history = [
            *asking,
            choice["message"],
            {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
        ]
        answer = await complete(harness, user, messages=history, tools=[WEATHER])
        assert answer["choices"][0]["message"]["content"] == "tool get_weather said: sunny"

    async def test_a_call_streams_as_tool_call_deltas(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        asking = [{"role": "user", "content": "!tool get_weather {}"}]
        pieces = await deltas(harness, user, messages=asking, tools=[WEATHER])
        calls = [d["tool_calls"][0] for d in pieces if d.get("tool_calls")]
        assert calls[0]["id"] and calls[0]["function"]["name"] == "get_weather"
        assert "".join(c["function"]["arguments"] for c in calls) == "{}"
        assert pieces[-1]["_finish"] == "tool_calls"
