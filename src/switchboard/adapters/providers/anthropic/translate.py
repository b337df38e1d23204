"""Neutral chat vocabulary to Anthropic's Messages API and back.

Thinking: `request.reasoning` turns on extended thinking with a token budget per level.
The neutral history keeps no thinking blocks (nor their signatures), and Anthropic wants
the signed thinking block back at the head of an assistant turn that called tools while
thinking was on; so a request that continues such a turn (the last assistant message
called tools) is sent without thinking, which the API accepts, as it does for forced
tool choice, where thinking is not allowed at all.
"""

from __future__ import annotations

import json
from typing import Any

from anthropic.types import Message, TextBlock, ThinkingBlock, ToolUseBlock
from anthropic.types import Usage as AnthropicUsage

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
    ToolSpec,
    Usage,
)

# The Messages API requires max_tokens; 4096 fits every current model's output limit.
DEFAULT_MAX_TOKENS = 4096
# Thinking budgets per reasoning level; Anthropic's minimum is 1024 tokens, and the
# budget must stay below max_tokens (which counts thinking and answer together).
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
MIN_THINKING_BUDGET = 1024

FINISH_REASONS = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "pause_turn": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "refusal": FinishReason.CONTENT_FILTER,
}


def finish_reason(stop_reason: str | None) -> FinishReason:
    """Anthropic's stop_reason in the neutral vocabulary."""
    return FINISH_REASONS.get(stop_reason or "end_turn", FinishReason.STOP)


def image_block(part: ImagePart) -> dict[str, Any]:
    """An image content block: inline base64 for data: URLs, a URL source otherwise."""
    if part.url.startswith("data:"):
        header, _, data = part.url.partition(",")
        media_type = header[len("data:") :].split(";")[0] or "image/png"
        if ";base64" not in header or not data:
            raise Invalid("Image data URLs must be base64-encoded.", param="messages")
        source = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "image", "source": source}
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def content_blocks(content: str | list[ContentPart]) -> list[dict[str, Any]]:
    """Text and image blocks for a message's content (empty text is left out)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(image_block(part))
    return blocks


def message_blocks(message: ChatMessage) -> tuple[str, list[dict[str, Any]]]:
    """The Anthropic role and content blocks of one non-system message."""
    if message.role == "tool":
        result = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id or "",
            "content": message.text,
        }
        return "user", [result]
    blocks = content_blocks(message.content)
    if message.role == "assistant":
        blocks += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": common.tool_arguments(c)}
            for c in message.tool_calls
        ]
    return ("assistant" if message.role == "assistant" else "user"), blocks


def messages_and_system(messages: list[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """The system prompt (all system turns joined) and the alternating message list.

    Consecutive turns of one role are merged: Anthropic wants every tool result of a
    turn in the single user message that follows it.
    """
    system = "\n\n".join(m.text for m in messages if m.role == "system" and m.text)
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role, blocks = message_blocks(message)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return system, out


def tool_param(tool: ToolSpec) -> dict[str, Any]:
    """A custom tool definition."""
    schema = tool.parameters or {"type": "object", "properties": {}}
    param: dict[str, Any] = {"name": tool.name, "input_schema": schema}
    if tool.description:
        param["description"] = tool.description
    return param


def tool_choice(choice: str | dict[str, Any]) -> dict[str, Any]:
    """OpenAI-style tool_choice in Anthropic's shape."""
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if not name:
            raise Invalid("tool_choice names no function.", param="tool_choice")
        return {"type": "tool", "name": name}
    mapping = {"auto": "auto", "none": "none", "required": "any", "any": "any"}
    if choice not in mapping:
        raise Invalid(f"Unknown tool_choice {choice!r}.", param="tool_choice")
    return {"type": mapping[choice]}


def output_format(response_format: dict[str, Any]) -> dict[str, Any] | None:
    """Structured output config for a json_schema response_format (JSON mode has none)."""
    if response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema") or {}
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        return None
    return {"format": {"type": "json_schema", "schema": schema}}


def _continues_tool_turn(messages: list[ChatMessage]) -> bool:
    """Whether the last assistant message called tools (its turn is still going on)."""
    last = next((m for m in reversed(messages) if m.role == "assistant"), None)
    return last is not None and bool(last.tool_calls)


def thinking_budget(request: ChatRequest) -> int | None:
    """The thinking budget to ask for, or None when thinking must stay off."""
    if not request.reasoning or _continues_tool_turn(request.messages):
        return None
    choice = request.tool_choice if request.tools else None
    if choice is not None and tool_choice(choice)["type"] in ("any", "tool"):
        return None  # forced tool use and manual thinking exclude each other
    budget = THINKING_BUDGETS.get(request.reasoning, THINKING_BUDGETS["medium"])
    if request.max_tokens is None:
        return budget
    # Leave about half of a caller's cap to the answer.
    budget = min(budget, max(MIN_THINKING_BUDGET, request.max_tokens // 2))
    return budget if budget < request.max_tokens else None


def create_params(request: ChatRequest) -> dict[str, Any]:
    """Keyword arguments for `messages.create`.

    temperature and top_p are not sent: this SDK generation dropped them from the
    Messages API, and current models reject them.
    """
    system, messages = messages_and_system(request.messages)
    if not messages:
        raise Invalid("At least one user message is required.", param="messages")
    budget = thinking_budget(request)
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS + (budget or 0),
        "messages": messages,
    }
    if budget is not None:
        params["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if system:
        params["system"] = system
    if request.stop:
        params["stop_sequences"] = request.stop
    if request.tools:
        params["tools"] = [tool_param(t) for t in request.tools]
        if request.tool_choice is not None:
            params["tool_choice"] = tool_choice(request.tool_choice)
    if request.response_format and (config := output_format(request.response_format)):
        params["output_config"] = config
    if request.user:
        params["metadata"] = {"user_id": request.user}
    return params


def usage(value: AnthropicUsage) -> Usage:
    """Token counts; cached prompt tokens count as prompt tokens."""
    prompt = (
        value.input_tokens
        + (value.cache_creation_input_tokens or 0)
        + (value.cache_read_input_tokens or 0)
    )
    return Usage(prompt_tokens=prompt, completion_tokens=value.output_tokens)


def chat_result(message: Message) -> ChatResult:
    """A whole Messages API reply as a neutral result."""
    text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
    calls = tuple(
        ToolCall(id=b.id, name=b.name, arguments=json.dumps(b.input))
        for b in message.content
        if isinstance(b, ToolUseBlock)
    )
    return ChatResult(
        text=text,
        finish_reason=finish_reason(message.stop_reason),
        usage=usage(message.usage),
        tool_calls=calls,
        model=message.model,
        thinking="".join(b.thinking for b in message.content if isinstance(b, ThinkingBlock)),
    )
