"""`task.created` on the owner's topic (`user:{id}`): what a new task is called and asks
for, which its job's own events (`job.*` on the same topics) do not carry.

Best effort, like job events: the task row is the truth and clients can always read it,
so a bus that is down is logged and never fails the request.
"""

from __future__ import annotations

import structlog

from switchboard.core.errors import SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event, user_topic
from switchboard.core.tasks.schemas import TaskRead

log = structlog.get_logger(__name__)

TASK_CREATED = "task.created"


async def publish_task_created(bus: EventBus, owner_id: str, task: TaskRead) -> None:
    """Publish `task.created` with the task's read model on `user:{owner_id}`."""
    event = Event(topic=user_topic(owner_id), type=TASK_CREATED, data=task.model_dump(mode="json"))
    try:
        await bus.publish(event)
    except SwitchboardError as exc:
        log.warning("task_event_not_published", task_id=task.id, error=exc.code)
