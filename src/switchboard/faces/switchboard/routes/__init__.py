"""The native face's routes by area, under `/switchboard/v1`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from switchboard.api.errors import face_route_class
from switchboard.api.responses import JSONResponse
from switchboard.faces.switchboard.errors import render_error

PREFIX = "/switchboard/v1"


def face_router(admission: Any) -> APIRouter:
    """A router of this face whose every route is admitted by `admission` (an `Admit`)."""
    return APIRouter(
        prefix=PREFIX,
        tags=["switchboard"],
        route_class=face_route_class(render_error),
        dependencies=[admission],
    )


def json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    """A JSON answer."""
    return JSONResponse(body, status_code=status)
