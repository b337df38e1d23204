"""What every Spoon Feeder route shares: admission, the router's shape, paging."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from switchboard.api.admission import Admit
from switchboard.api.errors import face_route_class
from switchboard.faces.spoonfeeder.auth import CHAIN, SOURCE
from switchboard.faces.spoonfeeder.errors import render_error

ROUTE_CLASS = face_route_class(render_error)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Page = Annotated[int, Query(ge=1, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def admit(scope: str | None) -> Any:
    """A signed-in caller (or the owner under local trust), counted per user by the
    default rate; an API key needs `scope`."""
    return Admit(CHAIN, scope=scope, rule="default", group=SOURCE)


def public() -> Any:
    """Anyone, not counted (health)."""
    return Admit(None, rule=None, group=SOURCE)


def api_router(*dependencies: Any) -> APIRouter:
    """A router of `/api` routes in the face's error shape, each admitted by `dependencies`."""
    return APIRouter(
        prefix="/api",
        tags=["spoonfeeder"],
        route_class=ROUTE_CLASS,
        dependencies=list(dependencies),
    )
