"""The slice of `httpx.AsyncClient` the ollama SDK calls, over the shared pooled client.

`ollama.AsyncClient` always builds its own httpx client, with its own connection pool and
no outbound policy. `PooledOllamaClient` keeps the SDK's request and response handling
and swaps that private client for this shim, which sends every request through the pooled,
policy-enforcing client with our base URL, headers and timeouts, and raises `StatusError`
(with Retry-After) for error answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import ollama

from switchboard.adapters.http import parse_retry_after

from .errors import StatusError


class PooledHttp:
    """`request` and `stream`, as the SDK calls them, against one Ollama base URL."""

    def __init__(
        self,
        pooled: httpx.AsyncClient,
        base_url: str,
        headers: dict[str, str],
        timeout: httpx.Timeout,
    ) -> None:
        self._pooled = pooled
        self._base_url = base_url.rstrip("/")
        self._headers = headers
        self._timeout = timeout

    def _url(self, path: str) -> str:
        # The SDK only calls its own relative API paths; anything else is not ours to send.
        if not path.startswith("/"):
            raise ValueError("Ollama requests must use a relative API path.")
        return self._base_url + path

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A whole request; error statuses raise `StatusError`."""
        response = await self._pooled.request(
            method, self._url(path), headers=self._headers, timeout=self._timeout, **kwargs
        )
        if response.is_error:
            raise StatusError(response.status_code, parse_retry_after(dict(response.headers)))
        return response

    @asynccontextmanager
    async def stream(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """A streamed request, closed when the block exits; error statuses raise first."""
        request = self._pooled.stream(
            method, self._url(path), headers=self._headers, timeout=self._timeout, **kwargs
        )
        async with request as response:
            if response.is_error:
                raise StatusError(response.status_code, parse_retry_after(dict(response.headers)))
            yield response


class PooledOllamaClient(ollama.AsyncClient):
    """The ollama SDK client, sending through `PooledHttp` instead of its own pool."""

    def __init__(self, http: PooledHttp) -> None:
        # BaseClient.__init__ is skipped on purpose: it would build an unpooled httpx
        # client, and read OLLAMA_HOST and OLLAMA_API_KEY from the environment.
        self._client = http  # type: ignore[assignment]
