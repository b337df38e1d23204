"""switchboard's own API (`/switchboard/v1`): jobs, schedules, live events (SSE and
Socket.IO), stopping replies and usage — what the five documented faces have no place for."""

from __future__ import annotations

from switchboard.api.auth import BEARER
from switchboard.api.faces import FaceSpec
from switchboard.faces.switchboard.errors import render_error
from switchboard.faces.switchboard.realtime import socketio_dialect
from switchboard.faces.switchboard.routes import events, jobs, replies, schedules, usage

FACE = FaceSpec(
    name="switchboard",
    routers=[jobs.router, schedules.router, events.router, replies.router, usage.router],
    render_error=render_error,
    auth=BEARER,
    socketio=socketio_dialect,
)

__all__ = ["FACE"]
