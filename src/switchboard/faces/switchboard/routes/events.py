"""Live events over server-sent events, on the topics the caller may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from switchboard.api.admission import Admit
from switchboard.api.context import ContextDep
from switchboard.api.realtime.sse import event_stream_response
from switchboard.core.events.schemas import user_topic
from switchboard.faces.switchboard.auth import STREAMS, StreamPrincipalDep
from switchboard.faces.switchboard.routes import face_router

MAX_TOPICS = 20

# Any credential of the user: topics are authorized one by one (default deny, 404).
router = face_router(Admit(STREAMS, rule=None))


@router.get("/events")
async def events(
    principal: StreamPrincipalDep,
    ctx: ContextDep,
    topic: Annotated[list[str] | None, Query(max_length=MAX_TOPICS)] = None,
) -> Response:
    """Server-sent events on the topics the caller may see (default: their own)."""
    topics = await ctx.topics.authorize_all(principal, topic or [user_topic(principal.user_id)])
    subscription = await ctx.bus.subscribe(topics)
    return event_stream_response(subscription)
