"""Job lifecycle events, published on the job's topic and on its owner's."""

from __future__ import annotations

from typing import Any

import structlog

from switchboard.core.errors import SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event, task_topic, user_topic
from switchboard.core.jobs.schemas import JobRead

log = structlog.get_logger(__name__)

# created, started, progress, retrying, completed, failed, cancelled (and
# cancel_requested, used internally to reach the process running the job).
JOB_EVENT_PREFIX = "job."
CANCEL_REQUESTED = JOB_EVENT_PREFIX + "cancel_requested"


def job_payload(job: JobRead) -> dict[str, Any]:
    """What subscribers learn about a job (its owner's view, nothing more)."""
    return job.model_dump(mode="json", exclude={"params"})


async def publish_job_event(bus: EventBus, job: JobRead, name: str) -> None:
    """Publish `job.<name>` on `task:{id}` and `user:{owner}`.

    Best effort: the job row is the truth and clients can always read it, so a bus that
    is down (Redis away) is logged and never fails the request or the job.
    """
    data = job_payload(job)
    for topic in (task_topic(job.id), user_topic(job.user_id)):
        try:
            await bus.publish(Event(topic=topic, type=JOB_EVENT_PREFIX + name, data=data))
        except SwitchboardError as exc:
            log.warning("job_event_not_published", job_id=job.id, event=name, error=exc.code)
            return
