"""What every PocketLLM route shares: admissions, router shape and checks (the chain is
`faces.pocketllm.auth`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from switchboard.api.admission import Admit
from switchboard.api.errors import face_route_class
from switchboard.faces.pocketllm.auth import AUTH
from switchboard.faces.pocketllm.errors import render_error

# The `source` of what this face stores (chats, jobs) and its rate-limit counters' group.
SOURCE = "pocketllm"
GROUP = "pocketllm"
ROUTE_CLASS = face_route_class(render_error)


def admit(scope: str | None = None) -> Any:
    """A signed-in caller, counted per user by the default rate. An API key needs `scope`;
    without one the route takes signed-in sessions only (account and key management)."""
    return Admit(AUTH, scope=scope, rule="default", group=GROUP)


def public(rule: str | None) -> Any:
    """Anyone, counted per client address by `rule` (None: not counted here)."""
    return Admit(None, rule=rule, group=GROUP)


def v1_router(*dependencies: Any) -> APIRouter:
    """A router of `/v1` routes in the face's error shape, each admitted by `dependencies`."""
    return APIRouter(
        prefix="/v1", tags=["pocketllm"], route_class=ROUTE_CLASS, dependencies=list(dependencies)
    )


def media_base(request: Request) -> str:
    """The absolute URL prefix under which a job's images are served to their owner."""
    return str(request.base_url).rstrip("/") + "/v1/media"
