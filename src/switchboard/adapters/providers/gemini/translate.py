"""Neutral chat vocabulary to Gemini's generateContent and back.

Function calls usually come without ids: they are numbered (`gemini-call-<n>`, in reply
order) and, when replayed, matched to their results by function name; made-up ids are
never sent back. Thought summaries (parts with `thought: true`, asked for with
`thinkingConfig.includeThoughts` when `request.reasoning` is set) are the thinking.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
from typing import Any

from google.genai import types

from switchboard.adapters.providers import common
from switchboard.core.errors import Invalid
from switchboard.core.llm import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    ContentPart,
    FinishReason,
    ImagePart,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
)

# Gemini 3 wants the thought signature of every replayed function call; history from
# other providers has none, and Google documents this value as the stand-in.
DUMMY_THOUGHT_SIGNATURE = base64.urlsafe_b64decode("skip_thought_signature_validator")

# Ids we invent for function calls Gemini returned without one; never sent back.
SYNTHETIC_ID_PREFIX = "gemini-call-"
# Thinking token budgets per reasoning level (every thinking model accepts these).
THINKING_BUDGETS = {"low": 1024, "medium": 8192, "high": 24576}

_FILTERED = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "MODEL_ARMOR",
}


def finish_reason(reason: types.FinishReason | None, has_calls: bool) -> FinishReason:
    """Gemini's finishReason in the neutral vocabulary (it says STOP for tool calls)."""
    name = reason.value if reason is not None else "STOP"
    if name == "MAX_TOKENS":
        return FinishReason.LENGTH
    if name in _FILTERED:
        return FinishReason.CONTENT_FILTER
    if has_calls:
        return FinishReason.TOOL_CALLS
    if name in ("MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "MALFORMED_RESPONSE"):
        return FinishReason.ERROR
    return FinishReason.STOP


def image_part(part: ImagePart) -> types.Part:
    """Inline bytes for data: URLs, a file reference for anything else."""
    if part.url.startswith("data:"):
        header, _, data = part.url.partition(",")
        mime_type = header[len("data:") :].split(";")[0] or "image/png"
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Invalid("Image data URLs must be base64-encoded.", param="messages") from exc
        return types.Part(inline_data=types.Blob(mime_type=mime_type, data=raw))
    mime_type = mimetypes.guess_type(part.url)[0] or "image/jpeg"
    return types.Part(file_data=types.FileData(file_uri=part.url, mime_type=mime_type))


def content_parts(content: str | list[ContentPart]) -> list[types.Part]:
    """Text and image parts of a message (empty text is left out)."""
    if isinstance(content, str):
        return [types.Part(text=content)] if content else []
    return [
        types.Part(text=p.text) if isinstance(p, TextPart) else image_part(p)
        for p in content
        if not (isinstance(p, TextPart) and not p.text)
    ]


def _real_id(call_id: str | None) -> str | None:
    return None if not call_id or call_id.startswith(SYNTHETIC_ID_PREFIX) else call_id


def call_part(call: ToolCall) -> types.Part:
    """A replayed function call."""
    function_call = types.FunctionCall(
        id=_real_id(call.id), name=call.name, args=common.tool_arguments(call)
    )
    return types.Part(function_call=function_call, thought_signature=DUMMY_THOUGHT_SIGNATURE)


def response_part(message: ChatMessage, names: dict[str, str]) -> types.Part:
    """A tool result; Gemini matches it by function name, found from the call's id."""
    name = message.name or names.get(message.tool_call_id or "")
    if not name:
        raise Invalid("A tool result needs the name of the call it answers.", param="messages")
    response = types.FunctionResponse(
        id=_real_id(message.tool_call_id), name=name, response={"result": message.text}
    )
    return types.Part(function_response=response)


def to_contents(messages: list[ChatMessage]) -> tuple[str, list[types.Content]]:
    """The system instruction and the contents; same-role neighbours are merged."""
    system = "\n\n".join(m.text for m in messages if m.role == "system" and m.text)
    # Filled turn by turn: made-up ids repeat across turns (each reply counts from 0).
    names: dict[str, str] = {}
    contents: list[types.Content] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            role, parts = "user", [response_part(message, names)]
        elif message.role == "assistant":
            names.update((c.id, c.name) for c in message.tool_calls)
            role = "model"
            parts = content_parts(message.content) + [call_part(c) for c in message.tool_calls]
        else:
            role, parts = "user", content_parts(message.content)
        if not parts:
            continue
        if contents and contents[-1].role == role and contents[-1].parts is not None:
            contents[-1].parts.extend(parts)
        else:
            contents.append(types.Content(role=role, parts=parts))
    return system, contents


def tool_config(choice: str | dict[str, Any]) -> types.ToolConfig:
    """OpenAI-style tool_choice as a function-calling mode."""
    mode = types.FunctionCallingConfigMode
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if not name:
            raise Invalid("tool_choice names no function.", param="tool_choice")
        config = types.FunctionCallingConfig(mode=mode.ANY, allowed_function_names=[name])
    else:
        modes = {"auto": mode.AUTO, "none": mode.NONE, "required": mode.ANY, "any": mode.ANY}
        if choice not in modes:
            raise Invalid(f"Unknown tool_choice {choice!r}.", param="tool_choice")
        config = types.FunctionCallingConfig(mode=modes[choice])
    return types.ToolConfig(function_calling_config=config)


def _apply_tools(request: ChatRequest, config: types.GenerateContentConfig) -> None:
    if not request.tools:
        return
    declarations = [
        types.FunctionDeclaration(
            name=t.name,
            description=t.description,
            parameters_json_schema=t.parameters or {"type": "object", "properties": {}},
        )
        for t in request.tools
    ]
    config.tools = [types.Tool(function_declarations=declarations)]
    if request.tool_choice is not None:
        config.tool_config = tool_config(request.tool_choice)


def _apply_format(
    response_format: dict[str, Any] | None, config: types.GenerateContentConfig
) -> None:
    kind = (response_format or {}).get("type")
    if kind not in ("json_object", "json_schema"):
        return
    config.response_mime_type = "application/json"
    spec = (response_format or {}).get("json_schema")
    if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
        config.response_json_schema = spec["schema"]


def generate_args(request: ChatRequest) -> tuple[list[types.Content], types.GenerateContentConfig]:
    """Contents and config for `generate_content`."""
    system, contents = to_contents(request.messages)
    if not contents:
        raise Invalid("At least one user message is required.", param="messages")
    config = types.GenerateContentConfig(
        system_instruction=system or None,
        temperature=request.temperature,
        top_p=request.top_p,
        max_output_tokens=request.max_tokens,
        stop_sequences=request.stop or None,
        seed=request.seed,
        # Tool calls go back to our caller; the SDK must never run anything itself.
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    _apply_tools(request, config)
    _apply_format(request.response_format, config)
    if request.reasoning:
        config.thinking_config = types.ThinkingConfig(
            include_thoughts=True,
            thinking_budget=THINKING_BUDGETS.get(request.reasoning, THINKING_BUDGETS["medium"]),
        )
    return contents, config


def usage(metadata: types.GenerateContentResponseUsageMetadata | None) -> Usage | None:
    """Token counts; thinking tokens are billed as output, so they count as completion."""
    if metadata is None:
        return None
    completion = (metadata.candidates_token_count or 0) + (metadata.thoughts_token_count or 0)
    return Usage(prompt_tokens=metadata.prompt_token_count or 0, completion_tokens=completion)


def candidate_parts(response: types.GenerateContentResponse) -> list[types.Part]:
    """The parts of the first candidate (Gemini is asked for one)."""
    if not response.candidates or response.candidates[0].content is None:
        return []
    return list(response.candidates[0].content.parts or [])


def visible_text(parts: list[types.Part]) -> str:
    """The reply text, without thought summaries."""
    return "".join(p.text for p in parts if p.text and not p.thought)


def thought_text(parts: list[types.Part]) -> str:
    """The thought summaries of a reply."""
    return "".join(p.text for p in parts if p.text and p.thought)


def tool_call(part: types.Part, index: int) -> ToolCall | None:
    """A function-call part as a neutral tool call, with an id made up when missing."""
    call = part.function_call
    if call is None or not call.name:
        return None
    call_id = call.id or f"{SYNTHETIC_ID_PREFIX}{index}"
    return ToolCall(id=call_id, name=call.name, arguments=json.dumps(call.args or {}))


def tool_delta(call: ToolCall, index: int) -> ToolCallDelta:
    """A whole function call as one stream delta (Gemini never splits them)."""
    return ToolCallDelta(index=index, id=call.id, name=call.name, arguments=call.arguments)


def chat_result(response: types.GenerateContentResponse, model: str) -> ChatResult:
    """A whole generateContent reply as a neutral result."""
    parts = candidate_parts(response)
    function_parts = [p for p in parts if p.function_call is not None]
    calls = tuple(c for i, p in enumerate(function_parts) if (c := tool_call(p, i)) is not None)
    reason = response.candidates[0].finish_reason if response.candidates else None
    if not response.candidates and response.prompt_feedback is not None:
        finish = FinishReason.CONTENT_FILTER  # the prompt itself was blocked
    else:
        finish = finish_reason(reason, bool(calls))
    return ChatResult(
        text=visible_text(parts),
        finish_reason=finish,
        usage=usage(response.usage_metadata),
        tool_calls=calls,
        model=response.model_version or model,
        thinking=thought_text(parts),
    )
