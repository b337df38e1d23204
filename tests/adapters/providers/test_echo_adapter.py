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
)
from switchboard.core.providers.ports import ProviderEndpoint


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
