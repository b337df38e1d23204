"""The prompt enhancer's instructions per task, and reading its (hopefully JSON) answer.

Models do not always answer in JSON: a fenced block, JSON inside prose, or plain text
are all read, and plain text becomes the enhanced prompt itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from switchboard.core.llm import ChatMessage

DEFAULT_TASK = "general"
MAX_TASK = 64

_BASE = (
    "You improve prompts that users will send to an AI system. Rewrite the user's prompt so "
    "that it is specific, complete and unambiguous, keeping its intent and language. "
    'Answer with one JSON object and nothing else: {"enhanced_prompt": "<the improved '
    'prompt>", "guidance": "<one or two sentences on what you changed and why>"}.'
)

TASK_INSTRUCTIONS: dict[str, str] = {
    "general": "Make the request clear and self-contained; state the desired output format.",
    "image_generation": (
        "The prompt is for an image model. Describe subject, composition, setting, lighting, "
        "colour palette, style or medium, camera or perspective and aspect ratio; avoid "
        "instructions the image model cannot follow."
    ),
    "summarization": (
        "The prompt asks for a summary. State the audience, the length, the structure "
        "(bullets or prose) and what must not be left out."
    ),
    "coding": (
        "The prompt is a programming task. Name the language and versions, inputs and "
        "outputs, constraints, edge cases and how the result should be tested."
    ),
    "writing": (
        "The prompt asks for written content. State the audience, tone, length, structure "
        "and any key points to include."
    ),
    "research": (
        "The prompt is a research question. Make the question precise, state the scope and "
        "the level of detail, and ask for sources or uncertainty to be stated."
    ),
    "translation": (
        "The prompt asks for a translation. Name the source and target languages, the "
        "register and any terms to keep untranslated."
    ),
    "chat": "The prompt is a conversational message. Keep it natural; only add missing context.",
}

# Other spellings clients use for the same tasks.
_TASK_ALIASES = {
    "image": "image_generation",
    "images": "image_generation",
    "summary": "summarization",
    "summarize": "summarization",
    "code": "coding",
    "code_generation": "coding",
    "programming": "coding",
    "question_answering": "research",
    "qa": "research",
    "conversation": "chat",
}

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Enhancement:
    """An enhanced prompt, the model's guidance and its answer as it came."""

    task: str
    enhanced_prompt: str
    guidance: str | None
    raw_response: str


def task_category(task: str | None) -> str:
    """The instruction set for `task`: a known task, an alias of one, else `general`."""
    name = (task or DEFAULT_TASK).strip().lower().replace("-", "_").replace(" ", "_")
    name = _TASK_ALIASES.get(name, name)
    return name if name in TASK_INSTRUCTIONS else DEFAULT_TASK


def enhancer_messages(
    prompt: str, task: str | None, history: list[ChatMessage] | None = None
) -> list[ChatMessage]:
    """The conversation that asks a model to enhance `prompt` for `task`."""
    category = task_category(task)
    system = f"{_BASE}\nTask category: {category}. {TASK_INSTRUCTIONS[category]}"
    if history:
        system += (
            "\nEarlier turns of this session are included for context; enhance only the "
            "last user prompt."
        )
    return [
        ChatMessage(role="system", content=system),
        *(history or []),
        ChatMessage(role="user", content=prompt),
    ]


def parse_enhancement(task: str, prompt: str, answer: str) -> Enhancement:
    """Read a model's answer: JSON when it is there, else the text itself is the prompt."""
    found = _json_object(answer)
    enhanced = ""
    guidance: str | None = None
    if found is not None:
        enhanced = _text(found.get("enhanced_prompt") or found.get("prompt"))
        guidance = _text(found.get("guidance") or found.get("notes")) or None
    if not enhanced:
        enhanced = _strip_fence(answer.strip()).strip() if found is None else ""
    return Enhancement(
        task=task, enhanced_prompt=enhanced or prompt, guidance=guidance, raw_response=answer
    )


def _json_object(answer: str) -> dict[str, Any] | None:
    text = _strip_fence(answer.strip())
    candidates = [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _strip_fence(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_text(v) for v in value).strip()
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value)
