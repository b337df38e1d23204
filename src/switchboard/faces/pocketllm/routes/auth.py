"""`/v1/auth/*`: sign-up, sign-in and refresh, public and counted per client address."""

from __future__ import annotations

from fastapi import Request, Response

from switchboard.api.admission import client_ip
from switchboard.api.context import ContextDep, ServicesDep
from switchboard.api.openapi import raises
from switchboard.core.accounts import rules
from switchboard.core.accounts.errors import InvalidCredentials
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.container import AppContext
from switchboard.core.errors import ErrorKind, RateLimited
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.envelope import ok
from switchboard.faces.pocketllm.routes.common import SOURCE, public, v1_router

# Failed sign-ins: per account, so guessing one password stops quickly; per address,
# generously, so that many people behind one NAT never meet it. Successes never count.
FAILED_SIGNINS_PER_ACCOUNT = "10/15 minutes"
FAILED_SIGNINS_PER_IP = "100/15 minutes"
SIGNUP_MESSAGE = "User created successfully. Please sign in to get a session."

Counter = tuple[str, tuple[str, ...]]

# Every route declares its own admission: none needs a caller.
router = v1_router()


@router.post(
    "/auth/signup",
    status_code=201,
    response_model=None,
    dependencies=[public("auth")],
    openapi_extra=raises(ErrorKind.CONFLICT),
)
async def signup(body: schemas.SignUp, request: Request, services: ServicesDep) -> Response:
    """Register an account (no session: sign in next)."""
    user = await services.accounts.create_user(
        UserCreate.model_validate(body.model_dump(exclude_unset=True))
    )
    data = {
        "user": translate.auth_user(user, with_roles=True),
        "session": None,
        "message": SIGNUP_MESSAGE,
    }
    return ok(request, data, 201)


# Not counted on arrival: only failures count, against the two counters below.
@router.post(
    "/auth/signin",
    response_model=None,
    dependencies=[public(None)],
    openapi_extra=raises(ErrorKind.UNAUTHENTICATED, ErrorKind.RATE_LIMITED),
)
async def signin(
    body: schemas.SignIn, request: Request, services: ServicesDep, ctx: ContextDep
) -> Response:
    """Sign in: a one-hour access token and a rotating refresh token."""
    counters = _failure_counters(request, body.email)
    await _refuse_when_locked(ctx, counters)
    try:
        user = await services.accounts.authenticate(body.email, body.password)
    except InvalidCredentials:
        for rate, key in counters:
            await ctx.limiter.hit(rate, *key)
        raise
    pair = await services.accounts.start_session(
        user.id, user_agent=request.headers.get("user-agent")
    )
    data = {"user": translate.auth_user(user), "session": translate.session(pair)}
    return ok(request, data)


@router.post(
    "/auth/refresh",
    response_model=None,
    dependencies=[public("default")],
    openapi_extra=raises(ErrorKind.UNAUTHENTICATED),
)
async def refresh(body: schemas.Refresh, request: Request, services: ServicesDep) -> Response:
    """Exchange a refresh token for a new pair; a reused token ends its session."""
    pair = await services.accounts.refresh(body.refresh_token)
    return ok(request, translate.refreshed(pair))


def _failure_counters(request: Request, email: str) -> tuple[Counter, ...]:
    """The failed sign-in counters of this account and of this client address."""
    return (
        (FAILED_SIGNINS_PER_ACCOUNT, (SOURCE, "signin-account", rules.lookup_email(email))),
        (FAILED_SIGNINS_PER_IP, (SOURCE, "signin-ip", client_ip(request))),
    )


async def _refuse_when_locked(ctx: AppContext, counters: tuple[Counter, ...]) -> None:
    """429 while either counter is spent."""
    for rate, key in counters:
        decision = await ctx.limiter.peek(rate, *key)
        if not decision.allowed:
            raise RateLimited(
                "Too many failed sign-in attempts. Try again later.",
                code="too_many_signin_failures",
                retry_after=decision.retry_after,
            )
