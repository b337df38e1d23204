"""Translation between the neutral vocabulary and OpenAI's chat wire format.

Responses are read as parsed JSON (dicts), not SDK models: the hot path parses bodies
and stream chunks with orjson straight into core types, and a server that leaves
fields out or adds its own is tolerated the way the SDK's lenient models were.

Reasoning ("thinking") is not in OpenAI's own chat API; compatible servers that show it
(DeepSeek, vLLM) put it in `reasoning_content` (OpenRouter and newer vLLM: `reasoning`)
beside `content`, in the message and in stream deltas. It is never sent back: DeepSeek
refuses history that carries it.
"""

from __future__ import annotations

from typing import Any

from switchboard.adapters.providers.openai.errors import malformed
from switchboard.core.llm import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    ContentPart,
    FinishReason,
    ImagePart,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)

_FINISH = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
}


def finish_reason(raw: str | None, *, has_tool_calls: bool = False) -> FinishReason:
    """The neutral finish reason for OpenAI's (unknown or missing values count as stop)."""
    if raw in _FINISH:
        return _FINISH[raw]
    return FinishReason.TOOL_CALLS if has_tool_calls else FinishReason.STOP


def _part(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, ImagePart):
        image: dict[str, Any] = {"url": part.url}
        if part.detail:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    return {"type": "text", "text": part.text}


def message_to_wire(message: ChatMessage) -> dict[str, Any]:
    """One message as OpenAI's chat API expects it."""
    wire: dict[str, Any] = {"role": message.role}
    if isinstance(message.content, str):
        wire["content"] = message.content
    else:
        wire["content"] = [_part(part) for part in message.content]
    if message.name:
        wire["name"] = message.name
    if message.role == "assistant" and message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
        if not message.content:
            wire["content"] = None
    if message.role == "tool":
        wire["tool_call_id"] = message.tool_call_id or ""
    return wire


def _tool(spec: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": spec.name,
        "parameters": spec.parameters or {"type": "object", "properties": {}},
    }
    if spec.description:
        function["description"] = spec.description
    return {"type": "function", "function": function}


def chat_kwargs(request: ChatRequest, *, completion_tokens_param: bool) -> dict[str, Any]:
    """Keyword arguments for `chat.completions.create` (unset options left out)."""
    kwargs: dict[str, Any] = {
        "model": request.model,
        "messages": [message_to_wire(m) for m in request.messages],
    }
    optional: dict[str, Any] = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": request.stop,
        "seed": request.seed,
        "tool_choice": request.tool_choice,
        "response_format": request.response_format,
        "user": request.user,
        "reasoning_effort": request.reasoning,
    }
    if request.max_tokens is not None:
        # OpenAI's newer models refuse `max_tokens`; compatible servers only know it.
        key = "max_completion_tokens" if completion_tokens_param else "max_tokens"
        optional[key] = request.max_tokens
    if request.tools:
        optional["tools"] = [_tool(spec) for spec in request.tools]
    kwargs.update({key: value for key, value in optional.items() if value is not None})
    return kwargs


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _reasoning(message: dict[str, Any]) -> str:
    """The reasoning text of a message or delta, under either name servers use."""
    return _str(message.get("reasoning_content")) or _str(message.get("reasoning")) or ""


def usage_of(usage: Any) -> Usage | None:
    """Neutral usage from OpenAI's, tolerating servers that leave fields out."""
    if not isinstance(usage, dict):
        return None
    return Usage(
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
    )


def chat_result(completion: Any) -> ChatResult:
    """A whole completion (the parsed JSON body) as a `ChatResult`."""
    if not isinstance(completion, dict):
        raise malformed()
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise malformed()
    choice = choices[0]
    message = _mapping(choice.get("message"))
    calls = tuple(
        ToolCall(
            id=_str(call.get("id")) or "",
            name=_str(_mapping(call.get("function")).get("name")) or "",
            arguments=_str(_mapping(call.get("function")).get("arguments")) or "",
        )
        for call in (message.get("tool_calls") or [])
        if isinstance(call, dict) and call.get("type", "function") == "function"
    )
    return ChatResult(
        text=_str(message.get("content")) or "",
        finish_reason=finish_reason(_str(choice.get("finish_reason")), has_tool_calls=bool(calls)),
        usage=usage_of(completion.get("usage")),
        tool_calls=calls,
        model=_str(completion.get("model")),
        thinking=_reasoning(message),
    )


class StreamState:
    """Turns chunks (parsed JSON) into events and remembers what `StreamEnd` needs."""

    def __init__(self) -> None:
        self.finish: str | None = None
        self.finished = False
        self.usage: Usage | None = None
        self.saw_tool_calls = False

    def events(self, chunk: Any) -> list[StreamEvent]:
        """The events in one chunk (only choice 0 is followed)."""
        if not isinstance(chunk, dict):
            raise malformed()
        usage = chunk.get("usage")
        if usage is not None:
            self.usage = usage_of(usage)
        out: list[StreamEvent] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = _mapping(choice.get("delta"))
            if thinking := _reasoning(delta):
                out.append(ThinkingDelta(thinking))
            content = delta.get("content")
            if content and isinstance(content, str):
                out.append(TextDelta(content))
            for call in delta.get("tool_calls") or ():
                if not isinstance(call, dict):
                    continue
                self.saw_tool_calls = True
                function = call.get("function")
                function = function if isinstance(function, dict) else None
                out.append(
                    ToolCallDelta(
                        index=_int(call.get("index")),
                        id=_str(call.get("id")),
                        name=_str(function.get("name")) if function else None,
                        arguments=(_str(function.get("arguments")) or "") if function else "",
                    )
                )
            reason = choice.get("finish_reason")
            if reason is not None:
                self.finish = _str(reason)
                self.finished = True
        return out

    def end(self) -> StreamEnd:
        """The closing event."""
        reason = finish_reason(self.finish, has_tool_calls=self.saw_tool_calls)
        return StreamEnd(finish_reason=reason, usage=self.usage)
