"""Authentication shared by the faces: switchboard's own bearer credentials.

Every face accepts an API key (`sb-...`) or an access token from any face's sign-in as
`Authorization: Bearer ...`; faces add their own schemes (cookies, master tokens) on top.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from switchboard.api.context import Services, ServicesDep
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.rules import looks_like_api_key
from switchboard.core.errors import PermissionDenied, Unauthenticated

MAX_BEARER_LENGTH = 4096


def bearer_token(request: Request) -> str | None:
    """The credential of an `Authorization: Bearer` header, or None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > MAX_BEARER_LENGTH:
        return None
    return value


async def principal_from_bearer(services: Services, token: str) -> Principal:
    """The principal behind an API key or an access token."""
    if looks_like_api_key(token):
        return await services.accounts.verify_api_key(token)
    return await services.accounts.verify_access_token(token)


async def require_principal(request: Request, services: ServicesDep) -> Principal:
    """The authenticated caller; 401 (in the face's shape) when there is none."""
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated("Missing bearer token", code="missing_credentials")
    principal = await principal_from_bearer(services, token)
    request.state.principal = principal
    return principal


def require_scope(principal: Principal, scope: str) -> None:
    """Refuse an API key that was not given `scope`."""
    if not principal.has_scope(scope):
        raise PermissionDenied(f"This API key lacks the '{scope}' scope", code="missing_scope")


PrincipalDep = Annotated[Principal, Depends(require_principal)]
