"""The caller's account, quota, query log and profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from switchboard.api.context import ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.openapi import raises
from switchboard.api.responses import JSONResponse
from switchboard.core.errors import ErrorKind
from switchboard.faces.pluginmind import translate
from switchboard.faces.pluginmind.auth import SIGNED_IN, USAGE, SessionDep
from switchboard.faces.pluginmind.errors import render_error

router = APIRouter(tags=["pluginmind"], route_class=face_route_class(render_error))


@router.get("/me", response_model=None, dependencies=[SIGNED_IN])
async def me(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's account."""
    user = await services.accounts.get_user(principal.user_id)
    google_sub = await services.google.linked_subject(principal.user_id)
    return JSONResponse(translate.me_body(user, google_sub))


@router.get("/me/usage", response_model=None, dependencies=[USAGE])
async def me_usage(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's query quota this month."""
    return JSONResponse(translate.usage_body(await services.analysis.quota(principal.user_id)))


@router.get("/users/profile", response_model=None, dependencies=[SIGNED_IN])
async def profile(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's profile for the frontend, wrapped in `user`."""
    user = await services.accounts.get_user(principal.user_id)
    return JSONResponse({"user": translate.profile_user(user)})


@router.get("/auth/me", response_model=None, dependencies=[SIGNED_IN])
async def auth_me(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's profile, unwrapped."""
    user = await services.accounts.get_user(principal.user_id)
    return JSONResponse(translate.profile_user(user, default_name=True))


@router.get(
    "/query-logs",
    response_model=None,
    dependencies=[USAGE],
    openapi_extra=raises(ErrorKind.NOT_FOUND),
)
async def query_logs(
    principal: SessionDep,
    services: ServicesDep,
    limit_: Annotated[int, Query(alias="limit", ge=1)] = 50,
    user_id: Annotated[str | None, Query(max_length=320)] = None,
) -> Response:
    """The caller's query log (an admin may name another user)."""
    logs = await services.analysis.query_logs(principal, user=user_id, limit=limit_)
    return JSONResponse(translate.logs_body(logs))
