"""Socket.IO at `/socket.io/`: the bus's topics as rooms, for the caller's own topics.

Clients connect with a bearer credential (header, `auth: {token}` or `?token=`), then
`subscribe`/`unsubscribe` with `{"topic": ...}`; events arrive under their type's name
(`job.progress`, ...) with the same body as the event stream's `data:`.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from switchboard.api.faces import Mount, Mounted
from switchboard.api.realtime.auth import chain_authenticator
from switchboard.api.realtime.socketio import SocketIOHub, register_topic_events
from switchboard.core.container import AppContext
from switchboard.faces.switchboard.auth import EVENTS_SCOPE, STREAMS

PATH = "/socket.io"
# How often each socket's credential is checked again (within Socket.IO's own 25 s
# heartbeat): a revoked or expired one gets `stream.closed` and is disconnected.
RECHECK_SECONDS = 15.0


def build_socketio(ctx: AppContext, _: object) -> Mounted:
    """The Socket.IO server of one app, on the app's bus and topic rules; closed (its
    forwarders and Redis listener stopped) when the app stops, before the bus closes."""
    hub = SocketIOHub(
        ctx.bus,
        ctx.topics,
        chain_authenticator(ctx, STREAMS, scope=EVENTS_SCOPE),
        redis_url=ctx.options.redis_url,
        recheck_seconds=RECHECK_SECONDS,
    )
    register_topic_events(hub)
    # Mounted at PATH, the hub sees the full path (Starlette keeps it and sets
    # root_path), so its own `socket.io` prefix makes the URL `/socket.io/`.
    app: ASGIApp = hub.asgi_app(socketio_path=PATH.strip("/"))
    return Mounted(app, hub.aclose)


SOCKETIO = Mount(PATH, build_socketio)
