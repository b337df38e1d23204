"""Neutral chat vocabulary to Ollama's /api/chat and back.

Ollama gives tool calls no ids: they are numbered `call_<n>` in reply order, and a
replayed tool result carries the function name (`tool_name`) of the call it answers.
`request.reasoning` asks for `think: true`; the reply's `message.thinking` is the
thinking.
"""

from __future__ import annotations

import json
from typing import Any

import ollama

from switchboard.adapters.providers import common
from switchboard.core.errors import Invalid
from switchboard.core.llm import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    FinishReason,
    ImagePart,
    ToolCall,
    ToolCallDelta,
    Usage,
)


def image_data(part: ImagePart) -> str:
    """The base64 payload of a data: URL; Ollama takes no image URLs."""
    header, _, data = part.url.partition(",")
    if not part.url.startswith("data:") or ";base64" not in header or not data:
        raise Invalid("Ollama accepts images only as base64 data: URLs.", param="messages")
    return data


def to_message(message: ChatMessage, names: dict[str, str]) -> dict[str, Any]:
    """One /api/chat message (Ollama keeps system turns in the list)."""
    out: dict[str, Any] = {"role": message.role, "content": message.text}
    if isinstance(message.content, list):
        images = [image_data(p) for p in message.content if isinstance(p, ImagePart)]
        if images:
            out["images"] = images
    if message.tool_calls:
        out["tool_calls"] = [
            {"function": {"name": c.name, "arguments": common.tool_arguments(c)}}
            for c in message.tool_calls
        ]
    if message.role == "tool":
        name = message.name or names.get(message.tool_call_id or "")
        if name:
            out["tool_name"] = name
    return out


def to_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Every message; tool results are named after the call of the turn they answer."""
    # Filled turn by turn: made-up ids repeat across turns (each reply counts from 0).
    names: dict[str, str] = {}
    out = []
    for message in messages:
        names.update((c.id, c.name) for c in message.tool_calls)
        out.append(to_message(message, names))
    return out


def tool_param(name: str, description: str | None, parameters: dict[str, Any]) -> dict[str, Any]:
    """A function tool in the OpenAI-like shape Ollama uses."""
    function: dict[str, Any] = {
        "name": name,
        "parameters": parameters or {"type": "object", "properties": {}},
    }
    if description:
        function["description"] = description
    return {"type": "function", "function": function}


def options(request: ChatRequest) -> dict[str, Any]:
    """Sampling options that were set (Ollama calls max_tokens num_predict)."""
    values = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "num_predict": request.max_tokens,
        "stop": request.stop or None,
        "seed": request.seed,
    }
    return {k: v for k, v in values.items() if v is not None}


def response_format(value: dict[str, Any] | None) -> str | dict[str, Any] | None:
    """ "json" for JSON mode, the schema for json_schema."""
    kind = (value or {}).get("type")
    if kind == "json_object":
        return "json"
    spec = (value or {}).get("json_schema")
    if kind == "json_schema" and isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
        schema: dict[str, Any] = spec["schema"]
        return schema
    return None


def chat_args(request: ChatRequest) -> dict[str, Any]:
    """Keyword arguments for `AsyncClient.chat` (stream is added by the caller).

    Ollama has no tool_choice; "none" is honoured by not offering the tools.
    """
    if not request.messages:
        raise Invalid("At least one message is required.", param="messages")
    args: dict[str, Any] = {"model": request.model, "messages": to_messages(request.messages)}
    if request.tools and request.tool_choice != "none":
        args["tools"] = [tool_param(t.name, t.description, t.parameters) for t in request.tools]
    if opts := options(request):
        args["options"] = opts
    if (fmt := response_format(request.response_format)) is not None:
        args["format"] = fmt
    if request.reasoning:
        args["think"] = True
    return args


def finish_reason(done_reason: str | None, has_calls: bool) -> FinishReason:
    """Ollama's done_reason in the neutral vocabulary (it says stop for tool calls)."""
    if done_reason == "length":
        return FinishReason.LENGTH
    return FinishReason.TOOL_CALLS if has_calls else FinishReason.STOP


def usage(response: ollama.ChatResponse) -> Usage:
    """Token counts from the final response."""
    return Usage(
        prompt_tokens=response.prompt_eval_count or 0,
        completion_tokens=response.eval_count or 0,
    )


def tool_calls(message: ollama.Message, first_index: int = 0) -> list[ToolCall]:
    """The message's tool calls; Ollama gives no ids, so they are numbered."""
    return [
        ToolCall(
            id=f"call_{first_index + i}",
            name=c.function.name,
            arguments=json.dumps(dict(c.function.arguments)),
        )
        for i, c in enumerate(message.tool_calls or [])
    ]


def tool_delta(call: ToolCall, index: int) -> ToolCallDelta:
    """A whole tool call as one stream delta (Ollama never splits them)."""
    return ToolCallDelta(index=index, id=call.id, name=call.name, arguments=call.arguments)


def chat_result(response: ollama.ChatResponse) -> ChatResult:
    """A whole /api/chat answer as a neutral result."""
    calls = tuple(tool_calls(response.message))
    return ChatResult(
        text=response.message.content or "",
        finish_reason=finish_reason(response.done_reason, bool(calls)),
        usage=usage(response),
        tool_calls=calls,
        model=response.model,
        thinking=response.message.thinking or "",
    )
