"""Generation events on the owner's topic (`user:{id}`) and the session's
(`comfy:{session id}`), for Socket.IO to forward as
`generation:started|progress|completed|failed` to those following the session.

Best effort, like job events: the generation row is the truth and clients can always
read it, so a bus that is down is logged and never fails the request or the run.
"""

from __future__ import annotations

from typing import Any

import structlog

from switchboard.core.errors import SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event, comfy_topic, user_topic

log = structlog.get_logger(__name__)

STARTED = "generation.started"
PROGRESS = "generation.progress"
COMPLETED = "generation.completed"
FAILED = "generation.failed"


async def publish_generation_event(
    bus: EventBus, owner_id: str, kind: str, data: dict[str, Any]
) -> None:
    """Publish `kind` (one of the names above) with `data` (which names the generation's
    `sessionId`) on `user:{owner_id}` and on the session's topic."""
    topics = (user_topic(owner_id), comfy_topic(data["sessionId"]))
    try:
        await bus.publish_many([Event(topic=topic, type=kind, data=data) for topic in topics])
    except SwitchboardError as exc:
        log.warning("generation_event_not_published", event=kind, error=exc.code)
