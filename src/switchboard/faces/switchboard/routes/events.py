"""Live events over server-sent events, on the topics the caller may see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Query, Request, Response

from switchboard.api.auth import Handshake
from switchboard.api.context import ContextDep
from switchboard.api.draining import draining_of
from switchboard.api.openapi import EVENT_STREAM, raises
from switchboard.api.realtime.auth import chain_authenticator
from switchboard.api.realtime.guard import StreamGuard, guarded
from switchboard.api.realtime.slots import holding, stream_slots
from switchboard.api.realtime.sse import event_stream_response
from switchboard.core.accounts.rules import EVENTS_SCOPE
from switchboard.core.container import AppContext
from switchboard.core.errors import ErrorKind
from switchboard.core.events.schemas import user_topic
from switchboard.faces.switchboard.auth import STREAMS, StreamPrincipalDep
from switchboard.faces.switchboard.routes import face_router

MAX_TOPICS = 20
# The keep-alive comment's period, which is also how often the credential is checked
# again: a revoked or expired one ends the stream with `stream.closed` within it.
HEARTBEAT_SECONDS = 15.0

# Any credential of the user with `events`: topics are authorized one by one (404).
router = face_router(EVENTS_SCOPE, STREAMS)


@router.get("/events", responses=EVENT_STREAM, openapi_extra=raises(ErrorKind.NOT_FOUND))
async def events(
    principal: StreamPrincipalDep,
    ctx: ContextDep,
    request: Request,
    topic: Annotated[list[str] | None, Query(max_length=MAX_TOPICS)] = None,
) -> Response:
    """Server-sent events on the topics the caller may see (default: their own); the
    stream ends with `stream.closed` (`{reason}`) when the server shuts down or the
    credential is revoked or expires."""
    own = user_topic(principal.user_id)
    topics = await ctx.topics.authorize_all(principal, topic or [own])
    slot = stream_slots(request.app).acquire(principal.user_id)
    try:
        subscription = await ctx.bus.subscribe(topics)
    except BaseException:
        slot.release()
        raise
    guard = StreamGuard(draining_of(request.app), _recheck(ctx, request), HEARTBEAT_SECONDS)
    return event_stream_response(
        holding(guarded(subscription, guard, own), slot), ping_seconds=HEARTBEAT_SECONDS
    )


def _recheck(ctx: AppContext, request: Request) -> Callable[[], Awaitable[object]]:
    """Authenticates the request's credential again, as the route's chain did."""
    authenticate = chain_authenticator(ctx, STREAMS, scope=EVENTS_SCOPE)
    return lambda: authenticate(Handshake(request))
