"""Outbound WebSockets under the outbound policy (a vendor's progress socket, say).

The host is judged by the same policy as every HTTP call (`OutboundPolicy.check_url`,
trust and exemptions alike) before anything is dialled, and the connection resolves
through `PinnedResolver`, so it reaches only an address that was checked. Redirects are
refused rather than followed (a redirect could lead anywhere), environment proxies are
ignored, and a heartbeat notices a connection that died without closing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
from yarl import URL

from switchboard.adapters.http.aio import PinnedResolver
from switchboard.adapters.http.errors import blocked_error
from switchboard.adapters.http.policy import OutboundPolicy
from switchboard.kit.netpolicy import BlockedUrl

# Seconds between pings: a server that stops answering them is gone.
HEARTBEAT_SECONDS = 30.0
# What opening or reading an outbound WebSocket raises when the connection is lost.
WEBSOCKET_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError, TimeoutError)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


async def _refuse_redirects(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    response = await handler(request)
    if response.status in _REDIRECTS:
        response.release()
        raise aiohttp.ClientError("the WebSocket handshake was redirected")
    return response


@asynccontextmanager
async def open_websocket(
    policy: OutboundPolicy,
    url: URL,
    *,
    trusted: bool,
    connect_timeout: float,
    headers: Mapping[str, str],
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """The open WebSocket at `url`; the core error of a policy refusal when the policy
    refuses the host; `WEBSOCKET_ERRORS` when it cannot be opened."""
    http_url = str(url.with_scheme("https" if url.scheme == "wss" else "http"))
    try:
        await policy.check_url(http_url, trusted=trusted, timeout=connect_timeout)
    except BlockedUrl as exc:
        raise blocked_error(exc) from None
    connector = aiohttp.TCPConnector(
        resolver=PinnedResolver(policy, trusted=trusted), use_dns_cache=False
    )
    session = aiohttp.ClientSession(
        connector=connector,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout),
        middlewares=(_refuse_redirects,),
    )
    async with session:
        try:
            async with asyncio.timeout(connect_timeout):
                socket = await session.ws_connect(
                    url, headers=dict(headers), heartbeat=HEARTBEAT_SECONDS
                )
        except BlockedUrl as exc:
            raise blocked_error(exc) from None
        async with socket:
            yield socket
