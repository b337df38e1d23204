"""Spoon Feeder's dialect on the Socket.IO server at `/socket.io/`.

A socket gets its principal's task events (`task:created|pending|started|progress|
completed|failed|cancelled`) and `notification`s as soon as it connects. `subscribe:task`
checks a task is the caller's (its events already arrive); `subscribe:session` adds the
`generation:started|progress|completed|failed` events of one ComfyUI session, until
`unsubscribe:session`. Both answer an acknowledgement in the face's envelope.

Authentication is the face's: a bearer token or an API key with the `events` scope, or,
under local trust, nothing at all from the machine itself (the original's behaviour).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from switchboard.api.realtime.auth import chain_authenticator
from switchboard.api.realtime.socketio import SocketIODialect, SocketIOHub
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.rules import EVENTS_SCOPE
from switchboard.core.comfy import events as generation
from switchboard.core.container import AppContext
from switchboard.core.errors import SwitchboardError
from switchboard.core.events.notifications import NOTIFICATION
from switchboard.core.events.schemas import Event, comfy_topic, parse_topic, task_topic, user_topic
from switchboard.core.jobs.events import JOB_EVENT_PREFIX
from switchboard.core.tasks.events import TASK_CREATED
from switchboard.core.tasks.schemas import TaskRead
from switchboard.core.tasks.service import SPOONFEEDER_TASK
from switchboard.faces.spoonfeeder.auth import CHAIN
from switchboard.faces.spoonfeeder.tasks_wire import task_json
from switchboard.kit.clock import iso_z

DIALECT = "spoonfeeder"

# The generation events, by the bus's name.
GENERATION_EVENTS = {
    generation.STARTED: "generation:started",
    generation.PROGRESS: "generation:progress",
    generation.COMPLETED: "generation:completed",
    generation.FAILED: "generation:failed",
}

Frame = tuple[str, dict[str, Any]]


def socketio_dialect(ctx: AppContext, _: object) -> SocketIODialect:
    """Spoon Feeder's words: its own events on connect, sessions followed on request."""
    return SocketIODialect(
        name=DIALECT,
        authenticate=chain_authenticator(ctx, CHAIN, scope=EVENTS_SCOPE),
        format=frame,
        on_connect=_join_own_topic,
        register=_register,
    )


def frame(event: Event) -> Frame | None:
    """The Socket.IO event for a bus event, or None when Spoon Feeder has no word for it.
    Generations come only from a session's topic: the owner's topic carries them too."""
    kind = parse_topic(event.topic).kind
    if kind == "comfy":
        name = GENERATION_EVENTS.get(event.type)
        return (name, _generation(event)) if name is not None else None
    if kind != "user":
        return None
    if event.type == TASK_CREATED:
        return "task:created", {"task": task_json(TaskRead.model_validate(event.data))}
    if event.type == NOTIFICATION:
        return NOTIFICATION, {"type": event.data["type"], "message": event.data["message"]}
    if event.type.startswith(JOB_EVENT_PREFIX) and event.data.get("type") == SPOONFEEDER_TASK:
        return _task(event.type.removeprefix(JOB_EVENT_PREFIX), event.data)
    return None


def _task(name: str, job: dict[str, Any]) -> Frame | None:
    """A task's job event in the document's words (`task:<status>` for the others the
    original sent)."""
    task_id = job["id"]
    if name == "created":  # also when a failed task is retried
        return "task:pending", {"taskId": task_id, "status": "pending"}
    if name == "started":
        return "task:started", {"taskId": task_id, "startedAt": _iso(job.get("started_at"))}
    if name == "progress":
        progress = {"progress": job["progress"], "message": job.get("progress_message")}
        return "task:progress", {"taskId": task_id} | progress
    if name == "completed":
        result = job.get("result") or {}
        return "task:completed", {"taskId": task_id, "result": {"id": result.get("result_id")}}
    if name == "failed":
        return "task:failed", {"taskId": task_id, "error": job.get("error")}
    if name == "cancelled":
        return "task:cancelled", {"taskId": task_id, "status": "cancelled"}
    return None  # retrying: the task stays running, its next attempt reports again


def _generation(event: Event) -> dict[str, Any]:
    data = dict(event.data)
    if event.type == generation.PROGRESS:
        data.setdefault("node", None)
    return data


def _iso(value: object) -> str | None:
    return iso_z(datetime.fromisoformat(value)) if isinstance(value, str) else None


# -- connection and client events --------------------------------------------------------
async def _join_own_topic(hub: SocketIOHub, sid: str, principal: Principal) -> None:
    await hub.join(sid, user_topic(principal.user_id), DIALECT)


def _register(hub: SocketIOHub) -> None:
    hub.sio.on("subscribe:task", partial(_subscribe_task, hub), namespace=hub.namespace)
    hub.sio.on("subscribe:session", partial(_subscribe_session, hub), namespace=hub.namespace)
    hub.sio.on("unsubscribe:session", partial(_unsubscribe_session, hub), namespace=hub.namespace)


async def _subscribe_task(hub: SocketIOHub, sid: str, task_id: object = None) -> dict[str, Any]:
    """Check the task is the caller's: its events already reach every socket of theirs."""
    if not hub.speaks(sid, DIALECT) or not isinstance(task_id, str):
        return _refused("Task not found")
    principal = await hub.principal(sid)
    if not await hub.may_subscribe(principal, task_topic(task_id)):
        return _refused(f"Task {task_id} not found")
    return {"success": True, "data": {"taskId": task_id}}


async def _subscribe_session(
    hub: SocketIOHub, sid: str, session_id: object = None
) -> dict[str, Any]:
    """Follow one of the caller's ComfyUI sessions: its generations' events."""
    if not hub.speaks(sid, DIALECT) or not isinstance(session_id, str):
        return _refused("Session not found")
    try:
        await hub.join(sid, comfy_topic(session_id), DIALECT)
    except SwitchboardError:
        return _refused(f"Session {session_id} not found")
    return {"success": True, "data": {"sessionId": session_id}}


async def _unsubscribe_session(
    hub: SocketIOHub, sid: str, session_id: object = None
) -> dict[str, Any]:
    if isinstance(session_id, str):
        await hub.leave(sid, comfy_topic(session_id), DIALECT)
    return {"success": True, "data": {"sessionId": session_id}}


def _refused(message: str) -> dict[str, Any]:
    return {"success": False, "error": message}
