"""The Spoon Feeder face (`/api`): provider profiles and settings, Ollama models, chat,
tasks and results, ComfyUI sessions and workflows, a read-only database view, and its
events on the shared Socket.IO server."""

from __future__ import annotations

from switchboard.api.faces import FaceSpec
from switchboard.faces.spoonfeeder.auth import CHAIN
from switchboard.faces.spoonfeeder.errors import render_error
from switchboard.faces.spoonfeeder.realtime import socketio_dialect
from switchboard.faces.spoonfeeder.routes import (
    chat,
    comfyui,
    database,
    health,
    models,
    profiles,
    results,
    settings,
    tasks,
)

FACE = FaceSpec(
    name="spoonfeeder",
    routers=[
        models.router,
        settings.router,
        profiles.router,
        chat.router,
        tasks.router,
        results.router,
        comfyui.router,
        database.router,
    ],
    render_error=render_error,
    auth=CHAIN,
    shared=[health.HEALTH],
    socketio=socketio_dialect,
)

__all__ = ["FACE"]
