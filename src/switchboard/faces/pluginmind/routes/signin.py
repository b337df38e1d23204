"""Google sign-in (sets `pm_session`), logout, and the legacy Google token check."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from switchboard.api.auth import bearer_token, mark_rejected
from switchboard.api.context import ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.openapi import raises
from switchboard.api.responses import JSONResponse
from switchboard.core.accounts.google import GoogleTokenInvalid
from switchboard.core.errors import ErrorKind, Unauthenticated
from switchboard.faces.pluginmind import schemas, translate
from switchboard.faces.pluginmind.auth import (
    PUBLIC,
    SESSION_MAX_AGE_SECONDS,
    SIGN_IN,
    SIGNED_IN,
    SessionDep,
)
from switchboard.faces.pluginmind.errors import render_error
from switchboard.faces.pluginmind.options import OptionsDep

router = APIRouter(tags=["pluginmind"], route_class=face_route_class(render_error))


@router.post(
    "/auth/google",
    response_model=None,
    dependencies=[SIGN_IN],
    openapi_extra=raises(ErrorKind.UNAUTHENTICATED, ErrorKind.CONFLICT),
)
async def auth_google(
    body: schemas.GoogleSignInRequest,
    request: Request,
    services: ServicesDep,
    options: OptionsDep,
) -> Response:
    """Sign in with a Google ID token; sets the `pm_session` cookie."""
    signed = await services.google.sign_in(
        body.id_token,
        user_agent=request.headers.get("user-agent"),
        session_ttl_seconds=SESSION_MAX_AGE_SECONDS,
    )
    user = translate.profile_user(signed.user, default_name=True)
    user["name"] = signed.identity.name or user["name"]
    user["picture"] = signed.identity.picture or user["picture"]
    response = JSONResponse({"status": "ok", "user": user})
    options.cookie.set(response, request, signed.tokens.access_token)
    return response


@router.post("/auth/logout", response_model=None, dependencies=[SIGNED_IN])
async def auth_logout(
    request: Request, principal: SessionDep, services: ServicesDep, options: OptionsDep
) -> Response:
    """End the session server-side and clear the cookie."""
    if principal.session_id is not None:
        await services.accounts.revoke_session(principal.user_id, principal.session_id)
    response = JSONResponse({"status": "ok", "message": "Logged out successfully"})
    options.cookie.clear(response, request)
    return response


@router.get(
    "/auth/validate",
    response_model=None,
    dependencies=[PUBLIC],
    openapi_extra=raises(ErrorKind.UNAUTHENTICATED),
)
async def auth_validate(request: Request, services: ServicesDep) -> Response:
    """Check a Google ID token sent as `Authorization: Bearer` (the legacy helper)."""
    token = bearer_token(request)
    if token is None:
        raise GoogleTokenInvalid("Missing bearer token")
    try:
        identity = await services.google.verify(token)
    except Unauthenticated:
        # A bearer token was presented and refused: the 401 says `invalid_token`.
        mark_rejected(request)
        raise
    return JSONResponse({"valid": True, "user_id": identity.email, "message": "Token is valid"})


@router.post(
    "/auth/google/link",
    response_model=None,
    dependencies=[SIGNED_IN],
    openapi_extra=raises(ErrorKind.CONFLICT),
)
async def auth_google_link(
    body: schemas.GoogleSignInRequest, principal: SessionDep, services: ServicesDep
) -> Response:
    """Link a Google account to the signed-in account: how an address Google does not
    vouch for gets Google sign-in. A link is never moved or replaced (409)."""
    identity = await services.google.link(principal.user_id, body.id_token)
    return JSONResponse({"status": "ok", "google_id": identity.subject})
