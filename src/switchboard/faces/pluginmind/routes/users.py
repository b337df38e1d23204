"""The caller's account, quota and profile."""

from __future__ import annotations

from fastapi import APIRouter, Response

from switchboard.api.context import ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.responses import JSONResponse
from switchboard.faces.pluginmind import translate
from switchboard.faces.pluginmind.auth import SIGNED_IN, SessionDep
from switchboard.faces.pluginmind.errors import render_error

router = APIRouter(
    tags=["pluginmind"], route_class=face_route_class(render_error), dependencies=[SIGNED_IN]
)


@router.get("/me", response_model=None)
async def me(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's account."""
    user = await services.accounts.get_user(principal.user_id)
    google_sub = await services.google.linked_subject(principal.user_id)
    return JSONResponse(translate.me_body(user, google_sub))


@router.get("/me/usage", response_model=None)
async def me_usage(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's query quota this month."""
    return JSONResponse(translate.usage_body(await services.analysis.quota(principal.user_id)))


@router.get("/users/profile", response_model=None)
async def profile(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's profile for the frontend, wrapped in `user`."""
    user = await services.accounts.get_user(principal.user_id)
    return JSONResponse({"user": translate.profile_user(user)})


@router.get("/auth/me", response_model=None)
async def auth_me(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's profile, unwrapped."""
    user = await services.accounts.get_user(principal.user_id)
    return JSONResponse(translate.profile_user(user, default_name=True))
