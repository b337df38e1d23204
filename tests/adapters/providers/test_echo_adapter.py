"""The built-in echo provider: deterministic, offline and fast."""

from __future__ import annotations

import struct
import zlib

import pytest

from switchboard.adapters.providers.echo import EchoProvider
from switchboard.core.errors import Invalid
from switchboard.core.llm import (
    ChatMessage,
    ChatRequest,
    FinishReason,
    ImageRequest,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
)
from switchboard.core.providers.ports import ProviderEndpoint

WEATHER = ToolSpec("get_weather", parameters={"type": "object"})


@pytest.fixture
def echo() -> EchoProvider:
    return EchoProvider(ProviderEndpoint(kind="echo", provider="echo"))


def ask(*messages: ChatMessage, max_tokens: int | None = None) -> ChatRequest:
    return ChatRequest(model="echo", messages=list(messages), max_tokens=max_tokens)


async def events_of(echo: EchoProvider, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in echo.stream_chat(request)]


class TestChat:
    async def test_replies_with_the_last_user_message(self, echo: EchoProvider) -> None:
        request = ask(
            ChatMessage("system", "be nice"),
            ChatMessage("user", "first"),
            ChatMessage("assistant", "Echo: first"),
            ChatMessage("user", "second  message"),
        )
        result = await echo.chat(request)
        assert result.text == "Echo: second  message"
        assert result.finish_reason is FinishReason.STOP
        assert result.model == "echo"
        assert result.usage is not None
        assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (7, 3)

    async def test_multipart_text(self, echo: EchoProvider) -> None:
        result = await echo.chat(ask(ChatMessage("user", [TextPart("a "), TextPart("b")])))
        assert result.text == "Echo: a b"

    async def test_no_user_message(self, echo: EchoProvider) -> None:
        assert (await echo.chat(ask(ChatMessage("system", "x")))).text == "Echo: "

    async def test_max_tokens_cuts_with_length(self, echo: EchoProvider) -> None:
        result = await echo.chat(ask(ChatMessage("user", "one two three"), max_tokens=2))
        assert result.text == "Echo: one "
        assert result.finish_reason is FinishReason.LENGTH

    async def test_deterministic(self, echo: EchoProvider) -> None:
        request = ask(ChatMessage("user", "same"))
        assert await echo.chat(request) == await echo.chat(request)


class TestStream:
    @pytest.mark.parametrize(
        "text", ["hello world", "  leading and trailing  ", "tabs\tand\nnewlines", "", "one"]
    )
    async def test_pieces_join_to_the_blocking_reply(self, echo: EchoProvider, text: str) -> None:
        request = ask(ChatMessage("user", text))
        events = await events_of(echo, request)
        deltas = [e.text for e in events if isinstance(e, TextDelta)]
        assert "".join(deltas) == (await echo.chat(request)).text
        assert all(isinstance(e, TextDelta) for e in events[:-1])
        assert isinstance(events[-1], StreamEnd)
        assert events[-1].usage == (await echo.chat(request)).usage

    async def test_word_by_word(self, echo: EchoProvider) -> None:
        events = await events_of(echo, ask(ChatMessage("user", "a b")))
        assert events[:-1] == [TextDelta("Echo: "), TextDelta("a "), TextDelta("b")]

    async def test_length_in_stream(self, echo: EchoProvider) -> None:
        events = await events_of(echo, ask(ChatMessage("user", "a b c"), max_tokens=1))
        assert events == [
            TextDelta("Echo: "),
            StreamEnd(FinishReason.LENGTH, events[-1].usage),  # type: ignore[union-attr]
        ]


class TestOthers:
    async def test_models(self, echo: EchoProvider) -> None:
        models = await echo.list_models()
        assert [m.id for m in models] == ["echo"]
        assert models[0].provider == "echo"

    async def test_embed(self, echo: EchoProvider) -> None:
        result = await echo.embed("echo", ["a", "b", "a"])
        assert len(result.vectors) == 3
        assert all(len(v) == 8 for v in result.vectors)
        assert result.vectors[0] == result.vectors[2] != result.vectors[1]
        assert all(-1.0 <= x <= 1.0 for v in result.vectors for x in v)
        with pytest.raises(Invalid):
            await echo.embed("echo", [])

    async def test_image_is_a_valid_png(self, echo: EchoProvider) -> None:
        images = await echo.generate_image(ImageRequest(model="echo", prompt="a red square", n=2))
        assert len(images) == 2
        png = images[0].data
        assert png is not None and images[0].mime_type == "image/png"
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        chunks = _png_chunks(png)
        assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
        width, height, depth, color = struct.unpack(">IIBB", chunks[0][1][:10])
        assert (width, height, depth, color) == (16, 16, 8, 2)
        assert len(zlib.decompress(chunks[1][1])) == (1 + 3 * 16) * 16
        with pytest.raises(Invalid):
            await echo.generate_image(ImageRequest(model="echo", prompt="x", n=0))

    async def test_connection(self, echo: EchoProvider) -> None:
        await echo.test_connection()


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    chunks = []
    offset = 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks.append((kind, data))
        offset += 12 + length
    return chunks


def with_tools(*messages: ChatMessage, reasoning: str | None = None) -> ChatRequest:
    return ChatRequest(model="echo", messages=list(messages), tools=[WEATHER], reasoning=reasoning)


class TestToolCalling:
    async def test_a_tool_command_becomes_a_call(self, echo: EchoProvider) -> None:
        result = await echo.chat(
            with_tools(ChatMessage("user", '!tool get_weather {"city": "Oslo"}'))
        )
        assert result.tool_calls == (ToolCall("echo-call-0", "get_weather", '{"city": "Oslo"}'),)
        assert result.finish_reason is FinishReason.TOOL_CALLS
        assert result.text == ""

    async def test_arguments_may_be_left_out(self, echo: EchoProvider) -> None:
        result = await echo.chat(with_tools(ChatMessage("user", "!tool get_weather")))
        assert result.tool_calls[0].arguments == "{}"

    @pytest.mark.parametrize(
        "text", ["!tool get_time {}", "!tool get_weather [1]", "!tool get_weather {oops", "hi"]
    )
    async def test_anything_else_is_echoed(self, echo: EchoProvider, text: str) -> None:
        result = await echo.chat(with_tools(ChatMessage("user", text)))
        assert result.tool_calls == ()
        assert result.text == f"Echo: {text}"

    async def test_no_call_without_tools_offered(self, echo: EchoProvider) -> None:
        result = await echo.chat(ask(ChatMessage("user", "!tool get_weather {}")))
        assert result.tool_calls == ()

    async def test_the_call_streams_as_deltas(self, echo: EchoProvider) -> None:
        events = await events_of(
            echo, with_tools(ChatMessage("user", '!tool get_weather {"a": 1}'))
        )
        assert events[:2] == [
            ToolCallDelta(index=0, id="echo-call-0", name="get_weather"),
            ToolCallDelta(index=0, arguments='{"a": 1}'),
        ]
        assert isinstance(events[-1], StreamEnd)
        assert events[-1].finish_reason is FinishReason.TOOL_CALLS

    async def test_tool_results_are_answered(self, echo: EchoProvider) -> None:
        calls = (ToolCall("c1", "get_weather", "{}"), ToolCall("c2", "get_time", "{}"))
        request = with_tools(
            ChatMessage("user", "!tool get_weather {}"),
            ChatMessage("assistant", "", tool_calls=calls),
            ChatMessage("tool", "sunny", tool_call_id="c1"),
            ChatMessage("tool", "noon", tool_call_id="c2"),
        )
        result = await echo.chat(request)
        assert result.text == "tool get_weather said: sunny; tool get_time said: noon"
        assert result.finish_reason is FinishReason.STOP


class TestThinking:
    async def test_thinking_when_reasoning_is_asked(self, echo: EchoProvider) -> None:
        request = with_tools(ChatMessage("user", "hello"), reasoning="low")
        result = await echo.chat(request)
        assert (result.thinking, result.text) == ("Thinking about: hello", "Echo: hello")
        events = await events_of(echo, request)
        assert events[0] == ThinkingDelta("Thinking about: hello")
        assert isinstance(events[1], TextDelta)

    async def test_no_thinking_otherwise(self, echo: EchoProvider) -> None:
        result = await echo.chat(ask(ChatMessage("user", "hello")))
        assert result.thinking == ""
