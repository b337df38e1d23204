"""The native dialect on the Socket.IO server at `/socket.io/`: the bus's topics as
rooms, for the caller's own topics.

Clients connect with a bearer credential (header, `auth: {token}` or `?token=`), then
`subscribe`/`unsubscribe` with `{"topic": ...}`; events arrive under their type's name
(`job.progress`, ...) with the same body as the event stream's `data:`.
"""

from __future__ import annotations

from functools import partial

from switchboard.api.realtime.auth import chain_authenticator
from switchboard.api.realtime.socketio import SocketIODialect, register_topic_events
from switchboard.core.accounts.rules import EVENTS_SCOPE
from switchboard.core.container import AppContext
from switchboard.faces.switchboard.auth import STREAMS

DIALECT = "switchboard"


def socketio_dialect(ctx: AppContext, _: object) -> SocketIODialect:
    """The native words: topic subscriptions, events under their own type."""
    return SocketIODialect(
        name=DIALECT,
        authenticate=chain_authenticator(ctx, STREAMS, scope=EVENTS_SCOPE),
        register=partial(register_topic_events, dialect=DIALECT),
    )
