"""Ollama over a desktop bridge: an httpx transport that relays instead of dialling.

`OllamaProvider` speaks Ollama's API through an httpx client; for an endpoint with a
`bridge_id` that client's transport is `RelayTransport`, which turns each request into
a `RelayRequest` for the user's desktop and the streamed `RelayResponse` back into an
httpx response. Chat, streaming, tools, embeddings and model administration therefore
run unchanged over the bridge. Nothing is dialled, so no outbound URL policy applies;
instead only Ollama's own API paths may be relayed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import unquote

import httpx

from switchboard.adapters.http import OutboundClients
from switchboard.core.bridge.ports import BridgeRelay, RelayResponse
from switchboard.core.bridge.schemas import RelayRequest
from switchboard.core.errors import Invalid
from switchboard.core.providers.ports import ProviderEndpoint

from .provider import OllamaProvider

# Ollama's API: /api/chat, /api/tags, /api/blobs/sha256:<hex>, ... and nothing else of
# the desktop's machine.
API_PATH = re.compile(r"/api/[A-Za-z0-9._:-]+(/[A-Za-z0-9._:-]+)*")


def api_path(url: httpx.URL) -> str:
    """`url`'s path and query, refused (`Invalid`) unless the path is under `/api/`."""
    path = unquote(url.path)
    segments = path.split("/")
    if not API_PATH.fullmatch(path) or "." in segments or ".." in segments:
        raise Invalid(
            "Only Ollama's API (/api/...) may be relayed to a desktop bridge.",
            code="bridge_path_refused",
        )
    return url.raw_path.decode("ascii")


class _RelayedBody(httpx.AsyncByteStream):
    """A relayed body as an httpx stream; closing it cancels the desktop's request."""

    def __init__(self, response: RelayResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._response:
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class RelayTransport(httpx.AsyncBaseTransport):
    """Sends each request to the desktop of one bridge instead of over the network."""

    def __init__(self, relay: BridgeRelay, bridge_id: str, timeout: float) -> None:
        self._relay = relay
        self._bridge_id = bridge_id
        self._timeout = timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Relay `request`; the answer's body streams as the desktop sends it."""
        path = api_path(request.url)
        body = await request.aread()
        # httpx's read timeout is the idle limit between chunks: the relay's timeout too.
        timeouts = request.extensions.get("timeout") or {}
        timeout = timeouts.get("read") or self._timeout
        relayed = await self._relay.request(
            self._bridge_id,
            RelayRequest(request.method, path, dict(request.headers), body),
            timeout=timeout,
        )
        return httpx.Response(
            relayed.status,
            headers=list(relayed.headers.items()),
            stream=_RelayedBody(relayed),
            request=request,
        )


def bridged_ollama(
    endpoint: ProviderEndpoint,
    relay: BridgeRelay | None,
    clients: OutboundClients,
    timeout: float,
    connect_timeout: float,
) -> OllamaProvider:
    """An `OllamaProvider` reaching `endpoint.bridge_id`'s desktop through `relay`.

    `Invalid` for a kind other than Ollama (only Ollama's API is relayed) and when this
    process has no relay.
    """
    if endpoint.kind.strip().lower() != "ollama":
        raise Invalid(
            f"Provider kind {endpoint.kind!r} cannot be reached through a desktop bridge; "
            "only 'ollama' can.",
            code="bridge_kind_unsupported",
        )
    if relay is None or endpoint.bridge_id is None:
        raise Invalid("Desktop bridges are not available here.", code="bridge_unavailable")
    transport = RelayTransport(relay, endpoint.bridge_id, timeout)
    client = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        follow_redirects=False,
        trust_env=False,
    )
    return OllamaProvider(endpoint, clients, timeout, connect_timeout, http_client=client)
