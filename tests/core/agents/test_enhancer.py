"""The enhancer's instructions per task and reading its answers, JSON or not."""

from __future__ import annotations

import json

import pytest

from switchboard.core.agents.enhancer import (
    TASK_INSTRUCTIONS,
    enhancer_messages,
    parse_enhancement,
    task_category,
)
from switchboard.core.llm import ChatMessage


class TestTaskCategory:
    @pytest.mark.parametrize(
        ("task", "category"),
        [
            ("image_generation", "image_generation"),
            ("Image-Generation", "image_generation"),
            ("summarize", "summarization"),
            ("code", "coding"),
            (None, "general"),
            ("astrology", "general"),
        ],
    )
    def test_known_aliases_and_fallback(self, task: str | None, category: str) -> None:
        assert task_category(task) == category


class TestMessages:
    def test_task_instructions_and_history(self) -> None:
        history = [ChatMessage(role="user", content="earlier")]
        messages = enhancer_messages("draw", "image_generation", history)
        assert messages[0].role == "system"
        assert TASK_INSTRUCTIONS["image_generation"] in messages[0].text
        assert "JSON" in messages[0].text
        assert [m.text for m in messages[1:]] == ["earlier", "draw"]


class TestParse:
    def test_plain_json(self) -> None:
        answer = json.dumps({"enhanced_prompt": "better", "guidance": "why"})
        result = parse_enhancement("general", "p", answer)
        assert (result.enhanced_prompt, result.guidance, result.raw_response) == (
            "better",
            "why",
            answer,
        )

    def test_fenced_json(self) -> None:
        answer = '```json\n{"enhanced_prompt": "better"}\n```'
        result = parse_enhancement("general", "p", answer)
        assert result.enhanced_prompt == "better" and result.guidance is None

    def test_json_inside_prose(self) -> None:
        answer = 'Sure! {"enhanced_prompt": "better", "guidance": ["a", "b"]} Enjoy.'
        result = parse_enhancement("general", "p", answer)
        assert result.enhanced_prompt == "better" and result.guidance == "a b"

    def test_plain_text_is_the_prompt(self) -> None:
        result = parse_enhancement("general", "p", "  A better prompt.  ")
        assert result.enhanced_prompt == "A better prompt." and result.guidance is None

    def test_json_without_a_prompt_keeps_the_original(self) -> None:
        result = parse_enhancement("general", "original", '{"something": "else"}')
        assert result.enhanced_prompt == "original"

    def test_empty_answer_keeps_the_original(self) -> None:
        assert parse_enhancement("general", "original", "").enhanced_prompt == "original"

    def test_json_array_is_text(self) -> None:
        assert parse_enhancement("general", "p", "[1, 2]").enhanced_prompt == "[1, 2]"
