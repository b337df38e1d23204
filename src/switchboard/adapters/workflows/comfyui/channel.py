"""ComfyUI's progress WebSocket (`/ws?clientId=`), opened by the outbound layer under
the outbound policy (`adapters.http.websocket`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from yarl import URL

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.http.websocket import WEBSOCKET_ERRORS, open_websocket


class ChannelLost(Exception):
    """The WebSocket could not be opened, or it closed before the prompt ended."""


# What opening or reading the WebSocket raises when the channel is lost.
CHANNEL_ERRORS = WEBSOCKET_ERRORS


def socket_url(base_url: str, client_id: str) -> URL:
    """`ws(s)://<base>/ws?clientId=<id>` for an http(s) base URL (a path prefix is kept)."""
    base = URL(base_url)
    scheme = "wss" if base.scheme == "https" else "ws"
    path = base.path.rstrip("/") + "/ws"
    return base.with_scheme(scheme).with_path(path).with_query(clientId=client_id)


@asynccontextmanager
async def open_channel(
    clients: OutboundClients,
    base_url: str,
    client_id: str,
    *,
    trusted: bool,
    connect_timeout: float,
    headers: Mapping[str, str],
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """The open WebSocket of `client_id`; `ChannelLost` when it cannot be opened, the
    core error of a policy refusal when the policy refuses the host."""
    async with AsyncExitStack() as stack:
        try:
            socket = await stack.enter_async_context(
                open_websocket(
                    clients.policy,
                    socket_url(base_url, client_id),
                    trusted=trusted,
                    connect_timeout=connect_timeout,
                    headers=headers,
                )
            )
        except CHANNEL_ERRORS as exc:
            raise ChannelLost(str(exc)) from None
        yield socket
