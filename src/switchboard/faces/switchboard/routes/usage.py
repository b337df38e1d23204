"""The caller's usage (readable with any of the caller's credentials)."""

from __future__ import annotations

from fastapi import Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.faces.switchboard.routes import face_router, json

router = face_router("usage")


@router.get("/usage")
async def usage(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The caller's calls, tokens and cost, overall and per model."""
    return json((await services.usage.summary(principal.user_id)).model_dump(mode="json"))
