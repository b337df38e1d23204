"""`/v1/chats/{id}/messages`: a chat's messages, and replies (blocking or SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import Query, Request, Response
from sse_starlette import ServerSentEvent

from switchboard.api.context import ServicesDep
from switchboard.api.errors import info_from_exception, status_of
from switchboard.api.inputs import Offset
from switchboard.api.openapi import STREAMS, UPSTREAM, raises
from switchboard.api.realtime.slots import holding, stream_slots
from switchboard.api.realtime.sse import event_stream_response
from switchboard.core.conversations.runner import ReplyFinished, ReplyOptions, ReplyStarted
from switchboard.core.conversations.schemas import MessageStatus
from switchboard.core.errors import ErrorKind
from switchboard.core.events.schemas import Event
from switchboard.core.llm import TextDelta
from switchboard.faces.pocketllm import chat_config, schemas, translate
from switchboard.faces.pocketllm.auth import PrincipalDep
from switchboard.faces.pocketllm.envelope import ok
from switchboard.faces.pocketllm.errors import message_of
from switchboard.faces.pocketllm.routes.common import SOURCE, admit, v1_router

router = v1_router(admit("chat"))


@router.post(
    "/chats/{chat_id}/messages",
    status_code=201,
    response_model=None,
    responses=STREAMS,
    openapi_extra=raises(ErrorKind.CONFLICT, UPSTREAM),
)
async def send_message(
    chat_id: str,
    body: schemas.MessageCreate,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Store the message, ask the chat's model with the history, store and return the reply."""
    owner = principal.user_id
    if body.config is not None:
        await chat_config.apply(services, owner, chat_id, None, body.config)
    else:
        await services.conversations.get(owner, chat_id)
    options = ReplyOptions(source=SOURCE, api_key_id=principal.api_key_id)
    if body.stream:
        # Refused before the message is stored; held until the stream's body ends. On
        # shutdown the runner ends the reply itself, with an `error` event.
        slot = stream_slots(request.app).acquire(owner)
        try:
            events = await services.replies.stream(owner, chat_id, body.content, options)
            first = await anext(events)  # setup errors still get an ordinary error envelope
        except BaseException:
            slot.release()
            raise
        assert isinstance(first, ReplyStarted)
        return event_stream_response(
            holding(_reply_events(chat_id, first, events), slot),
            format=_sse,
            stop_when=lambda e: e.type in ("done", "error"),
        )
    user_message, reply = await services.replies.send(owner, chat_id, body.content, options)
    return ok(request, translate.exchange(user_message, reply), 201)


@router.get("/chats/{chat_id}/messages", response_model=None)
async def list_messages(
    chat_id: str,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Offset = 0,
) -> Response:
    """Messages oldest first (failed replies without any text are left out)."""
    page = await services.conversations.messages(
        principal.user_id, chat_id, limit=limit, offset=offset
    )
    shown = [
        translate.message(m)
        for m in page.items
        if not (m.status == MessageStatus.ERROR and not m.content)
    ]
    return ok(request, shown)


async def _reply_events(
    chat_id: str, first: ReplyStarted, events: AsyncIterator[Any]
) -> AsyncIterator[Event]:
    """The reply as face events: start, delta..., then done or error."""
    topic = f"session:{chat_id}"
    try:
        yield Event(
            topic,
            "start",
            {
                "userMessage": translate.message(first.user_message),
                "assistantMessage": translate.message(first.assistant_message),
            },
        )
        async for item in events:
            if isinstance(item, TextDelta):
                yield Event(topic, "delta", {"content": item.text})
            elif isinstance(item, ReplyFinished):
                yield _finished(topic, first, item)
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def _finished(topic: str, first: ReplyStarted, finished: ReplyFinished) -> Event:
    """`done` with the exchange, or `error` with the message and status an error answer has."""
    if finished.error is None:
        return Event(topic, "done", translate.exchange(first.user_message, finished.message))
    info = info_from_exception(finished.error)
    assert info is not None
    return Event(
        topic,
        "error",
        {
            "message": message_of(info),
            "status": status_of(info),
            "assistantMessage": translate.message(finished.message),
        },
    )


def _sse(event: Event) -> ServerSentEvent:
    return ServerSentEvent(data=orjson.dumps(event.data).decode(), event=event.type)
