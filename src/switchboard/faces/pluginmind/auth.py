"""Who is calling a PluginMind route: the `pm_session` cookie, or switchboard's bearer.

The cookie holds a switchboard access token for a 24-hour session, so a PluginMind
sign-in is an ordinary switchboard session: the same account, revocable, and usable as
a bearer token on every other face. Switchboard's own bearer credentials (API keys,
access tokens from any face) are accepted here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from switchboard.api.auth import bearer_token
from switchboard.api.context import ServicesDep
from switchboard.core.container import Services
from switchboard.core.accounts.errors import TokenExpired, TokenRevoked
from switchboard.core.accounts.google import SESSION_TTL_SECONDS
from switchboard.core.accounts.principal import Principal
from switchboard.core.errors import Unauthenticated

COOKIE = "pm_session"
SOURCE = "pluginmind"


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """How the session cookie is set: `secure=None` means "when the request is HTTPS"."""

    secure: bool | None = None
    domain: str | None = None

    def is_secure(self, request: Request) -> bool:
        """Whether to mark the cookie Secure for this request.

        The request's scheme is what uvicorn saw, which honours X-Forwarded-Proto only
        from the proxies it trusts (`--forwarded-allow-ips`); operators behind other
        proxies set SWITCHBOARD_PLUGINMIND_COOKIE_SECURE.
        """
        return self.secure if self.secure is not None else request.url.scheme == "https"

    def set(self, response: Response, request: Request, token: str) -> None:
        """Set `pm_session`: HttpOnly, SameSite=Lax, Path=/, 24 hours."""
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_TTL_SECONDS,
            path="/",
            domain=self.domain,
            secure=self.is_secure(request),
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response, request: Request) -> None:
        """Expire `pm_session` (Max-Age=0) with the attributes it was set with."""
        response.delete_cookie(
            COOKIE,
            path="/",
            domain=self.domain,
            secure=self.is_secure(request),
            httponly=True,
            samesite="lax",
        )


async def session_principal(services: Services, request: Request) -> Principal:
    """The caller behind a bearer credential or the session cookie; 401 otherwise."""
    bearer = bearer_token(request)
    if bearer is not None:
        principal = await services.verify_credential(bearer)
    else:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            raise Unauthenticated(
                "Authentication required. Please sign in.", code="session_required"
            )
        try:
            principal = await services.accounts.verify_access_token(
                cookie, auth_method="session_cookie"
            )
        except (TokenExpired, TokenRevoked):
            raise Unauthenticated("Session expired", code="session_expired") from None
        except Unauthenticated:
            # Not ours (another deployment's secret), tampered with, or for no session.
            raise Unauthenticated("Invalid session token", code="invalid_session") from None
    request.state.principal = principal
    return principal


async def require_session(request: Request, services: ServicesDep) -> Principal:
    """Dependency: the authenticated caller."""
    return await session_principal(services, request)


SessionDep = Annotated[Principal, Depends(require_session)]


def client_ip(request: Request) -> str:
    """The peer address (uvicorn resolves trusted proxies' forwarding headers)."""
    return request.client.host if request.client else "unknown"
