"""Job lifecycle events, published on the job's topic and on its owner's."""

from __future__ import annotations

from collections.abc import Sequence
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


def job_events(job: JobRead, name: str) -> list[Event]:
    """`job.<name>` for `task:{id}` and for `user:{owner}`, in that order."""
    data = job_payload(job)
    return [
        Event(topic=topic, type=JOB_EVENT_PREFIX + name, data=data)
        for topic in (task_topic(job.id), user_topic(job.user_id))
    ]


async def publish_job_event(bus: EventBus, job: JobRead, name: str) -> None:
    """Publish `job.<name>` on `task:{id}` and `user:{owner}`.

    Best effort: the job row is the truth and clients can always read it, so a bus that
    is down (Redis away) is logged and never fails the request or the job.
    """
    await publish_job_events(bus, [(job, name)])


async def publish_job_events(bus: EventBus, announcements: Sequence[tuple[JobRead, str]]) -> None:
    """`publish_job_event` for several jobs at once, in order, in one `publish_many`
    (one round trip on Redis). Best effort in the same way."""
    events = [event for job, name in announcements for event in job_events(job, name)]
    if not events:
        return
    try:
        await bus.publish_many(events)
    except SwitchboardError as exc:
        for job, name in announcements:
            log.warning("job_event_not_published", job_id=job.id, job_event=name, error=exc.code)
