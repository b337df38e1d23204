"""OpenAI wire format ⇄ the core's neutral vocabulary."""

from __future__ import annotations

import base64
import secrets
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from switchboard.core import llm
from switchboard.core.errors import Invalid, SwitchboardError
from switchboard.core.images.generation import ImagePayload
from switchboard.core.media.schemas import MediaRead
from switchboard.faces.openai import schemas
from switchboard.faces.openai.errors import error_body
from switchboard.kit import netpolicy

# OpenAI's reasoning_effort values in the core's three levels ("none" asks for none).
_REASONING = {
    "none": None,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
}


def _reasoning(effort: str | None) -> str | None:
    if effort is None:
        return None
    if effort not in _REASONING:
        raise Invalid(f"Unknown reasoning_effort {effort!r}", param="reasoning_effort")
    return _REASONING[effort]


def chat_request(body: schemas.ChatCompletionRequest) -> llm.ChatRequest:
    """The core request for an OpenAI chat completion request."""
    if body.n not in (None, 1):
        raise Invalid("Only n=1 is supported", param="n")
    stop = [body.stop] if isinstance(body.stop, str) else body.stop
    return llm.ChatRequest(
        model=body.model,
        messages=[_message(m) for m in body.messages],
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        stop=stop,
        seed=body.seed,
        tools=[_tool(t) for t in body.tools] if body.tools else None,
        tool_choice=body.tool_choice,
        response_format=body.response_format,
        user=body.user,
        reasoning=_reasoning(body.reasoning_effort),
    )


def completion_body(model: str, result: llm.ChatResult) -> dict[str, Any]:
    """A `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": result.text, "refusal": None}
    if result.tool_calls:
        message["tool_calls"] = [_tool_call(c) for c in result.tool_calls]
        message["content"] = result.text or None
    if result.thinking:
        # Not in OpenAI's document: DeepSeek's field, which OpenAI's SDKs keep as extra.
        message["reasoning_content"] = result.thinking
    return {
        "id": _completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish(result.finish_reason),
            }
        ],
        "usage": _usage(result.usage),
        "system_fingerprint": None,
    }


async def completion_chunks(
    model: str, events: AsyncIterator[llm.StreamEvent], include_usage: bool
) -> AsyncIterator[bytes]:
    """`chat.completion.chunk` SSE frames, then `data: [DONE]`.

    A failure after the stream started ends it with one error frame and no `[DONE]`.
    Each yield becomes one write to the client's socket, so the role chunk goes out with
    the first delta and the closing chunks go out together: the frames are the same,
    the system calls fewer.
    """
    frame = _ChunkFramer(model, include_usage)
    opening = frame.delta({"role": "assistant", "content": ""})
    closing = b""
    try:
        async for event in events:
            if isinstance(event, llm.StreamEnd):
                closing = frame.finish(_finish(event.finish_reason))
                if include_usage:
                    closing += frame.usage(event.usage)
                continue
            if isinstance(event, llm.TextDelta):
                yield opening + frame.delta({"content": event.text})
            elif isinstance(event, llm.ThinkingDelta):
                yield opening + frame.delta({"reasoning_content": event.text})
            else:
                yield opening + frame.delta({"tool_calls": [_tool_call_delta(event)]})
            opening = b""
    except SwitchboardError as exc:
        _, body = error_body(exc)
        yield opening + b"data: " + orjson.dumps(body) + b"\n\n"
        return
    yield opening + closing + b"data: [DONE]\n\n"


def embedding_inputs(body: schemas.EmbeddingRequest) -> list[str]:
    """The texts to embed; token-id inputs are refused (no tokenizer here)."""
    if isinstance(body.input, str):
        return [body.input]
    if all(isinstance(item, str) for item in body.input):
        return list(body.input)  # type: ignore[arg-type]
    raise Invalid("Token-id inputs are not supported; send text", param="input")


def embedding_body(model: str, result: llm.EmbeddingResult, encoding: str | None) -> dict[str, Any]:
    """An embeddings `list` object; base64 is little-endian float32, as OpenAI sends it."""
    data = [
        {"object": "embedding", "index": i, "embedding": _encode_vector(v, encoding)}
        for i, v in enumerate(result.vectors)
    ]
    usage = result.usage or llm.Usage()
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens},
    }


def model_object(model_id: str, owned_by: str) -> dict[str, Any]:
    """One entry of OpenAI's model list."""
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owned_by}


def image_option(value: str | None) -> str | None:
    """A size or quality as the core takes it: OpenAI's `auto` is the model's default."""
    return None if value == "auto" else value


def image_format(body: schemas.ImageGenerationRequest, model: str) -> str:
    """`url` unless the client asks otherwise; gpt-image models answer base64 only, as
    OpenAI's do, so their clients read `b64_json` by default."""
    if body.response_format is not None:
        return body.response_format
    return "b64_json" if model.startswith("gpt-image") else "url"


def b64_images(payloads: list[ImagePayload]) -> dict[str, Any]:
    """An images response carrying the bytes (`b64_json`)."""
    return _images(
        [_image("b64_json", base64.b64encode(p.data).decode(), p.revised_prompt) for p in payloads]
    )


def url_images(media: list[MediaRead], base_url: str) -> dict[str, Any]:
    """An images response carrying URLs under `base_url`, served only to their owner."""
    return _images(
        [_image("url", f"{base_url}/{m.id}", m.attributes.get("revised_prompt")) for m in media]
    )


class _ChunkFramer:
    """Builds chunk frames that share one id, timestamp and model."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self._base: dict[str, Any] = {
            "id": _completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": None,
        }
        if include_usage:
            self._base["usage"] = None

    def delta(self, delta: dict[str, Any]) -> bytes:
        return self._frame([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}])

    def finish(self, reason: str) -> bytes:
        return self._frame([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}])

    def usage(self, usage: llm.Usage | None) -> bytes:
        return self._frame([], usage=_usage(usage))

    def _frame(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + orjson.dumps({**self._base, "choices": choices, **extra}) + b"\n\n"


def _message(message: schemas.ChatMessage) -> llm.ChatMessage:
    role = {"developer": "system", "function": "tool"}.get(message.role, message.role)
    return llm.ChatMessage(
        role=role,  # type: ignore[arg-type]
        content=_content(message.content),
        name=message.name,
        tool_calls=tuple(
            llm.ToolCall(c.id, c.function.name, c.function.arguments)
            for c in message.tool_calls or ()
        ),
        tool_call_id=message.tool_call_id,
    )


def _content(content: str | list[schemas.ContentPart] | None) -> str | list[llm.ContentPart]:
    if content is None or isinstance(content, str):
        return content or ""
    parts: list[llm.ContentPart] = []
    for part in content:
        if part.type == "text" and part.text is not None:
            parts.append(llm.TextPart(part.text))
        elif part.type == "image_url" and part.image_url is not None:
            parts.append(llm.ImagePart(_image_url(part.image_url.url), part.image_url.detail))
        else:
            raise Invalid(
                f"Content parts of type '{part.type}' are not supported", param="messages"
            )
    return parts


def _image_url(url: str) -> str:
    """An image input as the outbound policy allows it without I/O: a raster data: URL or
    an http(s) URL (the adapter checks its address against the policy before sending)."""
    try:
        netpolicy.check_image_input(url)
    except netpolicy.BlockedUrl as exc:
        raise Invalid(
            f"image_url refused: {exc}", code="invalid_image_url", param="messages"
        ) from None
    return url


def _tool(tool: schemas.ToolSpec) -> llm.ToolSpec:
    fn = tool.function
    return llm.ToolSpec(fn.name, fn.description, fn.parameters or {})


def _tool_call(call: llm.ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _tool_call_delta(delta: llm.ToolCallDelta) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": delta.arguments}
    out: dict[str, Any] = {"index": delta.index, "function": function}
    if delta.id is not None:
        out["id"] = delta.id
        out["type"] = "function"
    if delta.name is not None:
        function["name"] = delta.name
    return out


def _finish(reason: llm.FinishReason) -> str:
    # OpenAI clients know only these; an interrupted stream never reaches here.
    if reason in (llm.FinishReason.ERROR, llm.FinishReason.CANCELLED):
        return "stop"
    return reason.value


def _usage(usage: llm.Usage | None) -> dict[str, int]:
    usage = usage or llm.Usage()
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _encode_vector(vector: list[float], encoding: str | None) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def _images(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"created": int(time.time()), "data": data}


def _image(field: str, value: str, revised_prompt: object) -> dict[str, Any]:
    image: dict[str, Any] = {field: value}
    if revised_prompt:
        image["revised_prompt"] = revised_prompt
    return image


def _completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(16)
