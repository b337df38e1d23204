"""Generation events on the owner's topic (`user:{id}`), for Socket.IO to forward as
`generation:started|progress|completed|failed`.

Best effort, like job events: the generation row is the truth and clients can always
read it, so a bus that is down is logged and never fails the request or the run.
"""

from __future__ import annotations

from typing import Any

import structlog

from switchboard.core.errors import SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event, user_topic

log = structlog.get_logger(__name__)

STARTED = "generation.started"
PROGRESS = "generation.progress"
COMPLETED = "generation.completed"
FAILED = "generation.failed"


async def publish_generation_event(
    bus: EventBus, owner_id: str, kind: str, data: dict[str, Any]
) -> None:
    """Publish `kind` (one of the names above) with `data` on `user:{owner_id}`."""
    try:
        await bus.publish(Event(topic=user_topic(owner_id), type=kind, data=data))
    except SwitchboardError as exc:
        log.warning("generation_event_not_published", event=kind, error=exc.code)
