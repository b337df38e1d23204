"""The HTTP client handed to google-genai: the pooled client, plus stream bookkeeping.

google-genai reads a stream through several nested async generators and closes none of
them when the outer one is closed, so an abandoned stream's response would stay open
until the cycle collector runs. Every streamed response opened while `OPEN_STREAMS`
holds a list is put in that list, so the adapter can close it itself, at once.

Closing the response alone leaves httpx's own byte generators suspended; the collector
later finalises each of them with its own `aclose` task, and two such tasks on one chain
race ("async generator already executing"). So a tracked response's byte stream also
closes the iterators it handed out, innermost first, when it is closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar

import httpx2
from httpx2._client import UseClientDefault

OPEN_STREAMS: ContextVar[list[httpx2.Response] | None] = ContextVar(
    "gemini_open_streams", default=None
)


class ClosingByteStream(httpx2.AsyncByteStream):
    """A response byte stream whose `aclose` also closes the iterators read from it."""

    def __init__(self, inner: httpx2.AsyncByteStream) -> None:
        self._inner = inner
        self._iterators: list[AsyncIterator[bytes]] = []

    def __aiter__(self) -> AsyncIterator[bytes]:
        iterator = self._inner.__aiter__()
        self._iterators.append(iterator)
        return iterator

    async def aclose(self) -> None:
        for iterator in self._iterators:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        await self._inner.aclose()


class StreamTrackingClient(httpx2.AsyncClient):
    """Sends every request through the shared, policy-enforcing pooled client."""

    def __init__(self, pooled: httpx2.AsyncClient) -> None:
        # A transport that is never used: requests go to the pooled client's transport,
        # so the outbound policy and the connection pool stay the shared ones.
        super().__init__(transport=httpx2.AsyncBaseTransport())
        self._pooled = pooled

    async def send(
        self,
        request: httpx2.Request,
        *,
        stream: bool = False,
        auth: httpx2._types.AuthTypes | UseClientDefault | None = httpx2.USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
    ) -> httpx2.Response:
        """Send through the pooled client; remember streamed responses."""
        response = await self._pooled.send(
            request, stream=stream, auth=auth, follow_redirects=follow_redirects
        )
        opened = OPEN_STREAMS.get()
        if stream and opened is not None and isinstance(response.stream, httpx2.AsyncByteStream):
            response.stream = ClosingByteStream(response.stream)
            opened.append(response)
        return response
