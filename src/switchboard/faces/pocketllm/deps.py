"""What every PocketLLM route shares: the face's name, rate limits and credential checks."""

from __future__ import annotations

from fastapi import Request

from switchboard.api.auth import require_scope
from switchboard.core.container import Services
from switchboard.core.accounts.principal import Principal
from switchboard.core.errors import PermissionDenied

SOURCE = "pocketllm"


async def admit(
    request: Request, services: Services, principal: Principal, scope: str | None = None
) -> None:
    """Check an API key's scope and count the request against the caller's default limit."""
    if scope is not None:
        require_scope(principal, scope)
    ctx = services.ctx
    await ctx.limiter.check(
        request.scope, ctx.options.rate_limit_default, SOURCE, principal.user_id
    )


def require_session(principal: Principal) -> None:
    """Account and credential management need a signed-in session, not an API key."""
    if principal.auth_method == "api_key":
        raise PermissionDenied(
            "This action needs a signed-in session; API keys cannot do it",
            code="session_required",
        )


def client_ip(request: Request) -> str:
    """The peer address (uvicorn applies trusted proxy headers before this)."""
    return request.client.host if request.client else "unknown"


def media_base(request: Request) -> str:
    """The absolute URL prefix under which a job's images are served to their owner."""
    return str(request.base_url).rstrip("/") + "/v1/media"
