"""Server-sent events over sse-starlette: keep-alive comments, disconnect detection, and
a formatter so each face can emit its own `event:`/`data:` shapes."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping

import anyio
import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent

from switchboard.api.realtime.closing import close_source
from switchboard.core.events.schemas import Event
from switchboard.kit.clock import iso_z

# sse-starlette cancels every stream as soon as uvicorn starts shutting down, before it
# could send its closing event; our streams end themselves when the app drains
# (`api.draining`), so its own cut comes only this long after, as a last resort.
LIBRARY_SHUTDOWN_GRACE_SECONDS = 60.0

SSEFormatter = Callable[[Event], ServerSentEvent | None]
"""One event as one SSE frame; None skips the event."""


def event_body(event: Event) -> dict[str, object]:
    """The neutral JSON shape of an event (what the default formatters send)."""
    return {
        "id": event.id,
        "topic": event.topic,
        "type": event.type,
        "data": event.data,
        "at": iso_z(event.at),
    }


def default_sse_format(event: Event) -> ServerSentEvent:
    """`event: <type>`, `id: <id>`, `data: <event as JSON>`."""
    return ServerSentEvent(
        data=orjson.dumps(event_body(event)).decode(), event=event.type, id=event.id
    )


async def sse_frames(
    source: AsyncIterable[Event],
    *,
    format: SSEFormatter = default_sse_format,
    preamble: Iterable[ServerSentEvent] = (),
    stop_when: Callable[[Event], bool] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The frames for `source`; the source is closed however the stream ends."""
    try:
        for first in preamble:
            yield first
        async for event in source:
            frame = format(event)
            if frame is not None:
                yield frame
            if stop_when is not None and stop_when(event):
                return
    finally:
        # The client may be gone and this task cancelled: freeing the subscription must
        # still happen, so it runs shielded.
        with anyio.CancelScope(shield=True):
            await close_source(source)


def event_stream_response(
    source: AsyncIterable[Event],
    *,
    format: SSEFormatter = default_sse_format,
    preamble: Iterable[ServerSentEvent] = (),
    stop_when: Callable[[Event], bool] | None = None,
    ping_seconds: float = 15.0,
    ping_comment: str = "ping",
    send_timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
) -> EventSourceResponse:
    """An SSE response streaming `source` (a bus subscription or any event iterator).

    A `: <ping_comment>` comment every `ping_seconds` keeps proxies from closing an idle
    stream; a client that disconnects, or stops reading for `send_timeout` seconds, ends
    the stream and frees the subscription.
    """
    return EventSourceResponse(
        sse_frames(source, format=format, preamble=preamble, stop_when=stop_when),
        ping=ping_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment=ping_comment),
        send_timeout=send_timeout,
        shutdown_grace_period=LIBRARY_SHUTDOWN_GRACE_SECONDS,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
    )
