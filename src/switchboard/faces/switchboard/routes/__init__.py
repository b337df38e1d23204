"""The native face's routes by area, under `/switchboard/v1`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from switchboard.api.admission import Admit
from switchboard.api.auth import BEARER, AuthChain
from switchboard.api.errors import face_route_class
from switchboard.api.responses import JSONResponse
from switchboard.faces.switchboard.errors import render_error

PREFIX = "/switchboard/v1"
# Every request counts, per user, against SWITCHBOARD_SWITCHBOARD_RATE_LIMIT.
RATE = "switchboard"


def face_router(scope: str | None, chain: AuthChain = BEARER) -> APIRouter:
    """A router of this face: callers through `chain`, API keys with `scope` (None:
    signed-in sessions only), every request counted against the face's rate."""
    return APIRouter(
        prefix=PREFIX,
        tags=["switchboard"],
        route_class=face_route_class(render_error),
        dependencies=[Admit(chain, scope=scope, rule=RATE)],
    )


def json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    """A JSON answer."""
    return JSONResponse(body, status_code=status)
