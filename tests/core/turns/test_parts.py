"""A turn's parts: collected from its events, stored only when there is more than text,
and replayed to the model as the messages it saw and said."""

from __future__ import annotations

from switchboard.core.llm import TextDelta, ThinkingDelta
from switchboard.core.turns.events import ToolFinished, ToolStarted
from switchboard.core.turns.parts import PartsBuilder, replay


def _built(*events: object) -> PartsBuilder:
    builder = PartsBuilder()
    for event in events:
        builder.add(event)  # type: ignore[arg-type]
    return builder


def test_plain_text_stores_no_parts() -> None:
    assert _built(TextDelta("Hel"), TextDelta("lo")).stored() is None


def test_deltas_join_and_tools_keep_their_order() -> None:
    builder = _built(
        ThinkingDelta("I should "),
        ThinkingDelta("add."),
        TextDelta("Let me add."),
        ToolStarted("c1", "add", '{"a": 1}'),
        ToolFinished("c1", "add", result="1"),
        TextDelta("It is 1."),
    )
    assert builder.stored() == [
        {"type": "thinking", "text": "I should add."},
        {"type": "text", "text": "Let me add."},
        {"type": "tool_call", "id": "c1", "name": "add", "arguments": '{"a": 1}'},
        {
            "type": "tool_result",
            "tool_call_id": "c1",
            "name": "add",
            "content": "1",
            "is_error": False,
        },
        {"type": "text", "text": "It is 1."},
    ]


def test_a_failed_tool_is_stored_as_an_error_result() -> None:
    parts = _built(ToolStarted("c1", "x", "{}"), ToolFinished("c1", "x", error="boom")).parts
    assert parts[-1]["is_error"] is True
    assert parts[-1]["content"] == "Error: boom"


def test_replay_gives_each_step_and_each_result() -> None:
    parts = _built(
        TextDelta("Let me add."),
        ToolStarted("c1", "add", "{}"),
        ToolStarted("c2", "mul", "{}"),
        ToolFinished("c1", "add", result="3"),
        ToolFinished("c2", "mul", result="2"),
        ThinkingDelta("now answer"),
        TextDelta("3 and 2."),
    ).parts

    messages = replay(parts)

    assert [m.role for m in messages] == ["assistant", "tool", "tool", "assistant"]
    assert messages[0].text == "Let me add."
    assert [c.id for c in messages[0].tool_calls] == ["c1", "c2"]
    assert [(m.tool_call_id, m.content) for m in messages[1:3]] == [("c1", "3"), ("c2", "2")]
    assert messages[3].text == "3 and 2."  # thinking is not replayed


def test_replay_leaves_out_a_call_that_was_never_answered() -> None:
    parts = _built(TextDelta("Checking."), ToolStarted("c1", "slow", "{}")).parts
    messages = replay(parts)
    assert [(m.role, m.text, m.tool_calls) for m in messages] == [("assistant", "Checking.", ())]
