"""The Gemini adapter's byte stream wrapper closes what it handed out."""

from collections.abc import AsyncIterator
from types import AsyncGeneratorType

import httpx2

from switchboard.adapters.providers.gemini.http import ClosingByteStream


class ChunkStream(httpx2.AsyncByteStream):
    def __init__(self) -> None:
        self.closed = False
        self.finished: list[str] = []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            for chunk in (b"a", b"b", b"c"):
                yield chunk
        finally:
            self.finished.append("iterator")

    async def aclose(self) -> None:
        self.closed = True


async def test_closing_the_stream_closes_a_suspended_iterator_first() -> None:
    inner = ChunkStream()
    stream = ClosingByteStream(inner)
    iterator = aiter(stream)
    assert await anext(iterator) == b"a"
    await stream.aclose()
    assert isinstance(iterator, AsyncGeneratorType)
    # Finished, not left suspended for the garbage collector to finalise later.
    assert iterator.ag_frame is None
    assert inner.finished == ["iterator"]
    assert inner.closed
