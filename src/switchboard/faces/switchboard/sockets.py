"""Socket.IO at `/socket.io/`: the bus's topics as rooms, for the caller's own topics.

Clients connect with a bearer credential (header, `auth: {token}` or `?token=`), then
`subscribe`/`unsubscribe` with `{"topic": ...}`; events arrive under their type's name
(`job.progress`, ...) with the same body as the event stream's `data:`.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.types import ASGIApp

from switchboard.api.faces import Mount
from switchboard.api.realtime.auth import chain_authenticator
from switchboard.api.realtime.socketio import SocketIOHub, register_topic_events
from switchboard.core.container import AppContext
from switchboard.faces.switchboard.auth import STREAMS

PATH = "/socket.io"

# The hub of each app's context, for the lifespan hook to close. Weak: a hub lives as
# long as the app that mounts it (its handlers hold it), and that app's context with it,
# so the context's id cannot be reused while its entry exists.
_HUBS: weakref.WeakValueDictionary[int, SocketIOHub] = weakref.WeakValueDictionary()


def build_socketio(ctx: AppContext, _: object) -> ASGIApp:
    """The Socket.IO server of one app, on the app's bus and topic rules."""
    hub = SocketIOHub(
        ctx.bus,
        ctx.topics,
        chain_authenticator(ctx, STREAMS),
        redis_url=ctx.options.redis_url,
    )
    register_topic_events(hub)
    _HUBS[id(ctx)] = hub
    # Mounted at PATH, the hub sees the full path (Starlette keeps it and sets
    # root_path), so its own `socket.io` prefix makes the URL `/socket.io/`.
    app: ASGIApp = hub.asgi_app(socketio_path=PATH.strip("/"))
    return app


@asynccontextmanager
async def close_socketio(ctx: AppContext) -> AsyncIterator[None]:
    """Stop the hub's forwarders before the bus closes (their subscriptions end)."""
    try:
        yield
    finally:
        hub = _HUBS.get(id(ctx))
        if hub is not None:
            await hub.aclose()


SOCKETIO = Mount(PATH, build_socketio)
