"""`/v1/auth/*` and `/v1/users/profile*`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.core.accounts import rules
from switchboard.core.accounts.errors import InvalidCredentials
from switchboard.core.accounts.schemas import UserCreate, UserUpdate
from switchboard.core.errors import RateLimited
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.deps import SOURCE, admit, client_ip, require_session
from switchboard.faces.pocketllm.envelope import ok

# Failed sign-ins: per account, so guessing one password stops quickly; per address,
# generously, so that many people behind one NAT never meet it. Successes never count.
FAILED_SIGNINS_PER_ACCOUNT = "10/15 minutes"
FAILED_SIGNINS_PER_IP = "100/15 minutes"
SIGNUP_MESSAGE = "User created successfully. Please sign in to get a session."


def register(router: APIRouter) -> None:
    """Add the auth and profile routes."""

    @router.post("/auth/signup", status_code=201, response_model=None)
    async def signup(body: schemas.SignUp, request: Request, services: ServicesDep) -> Response:
        """Register an account (no session: sign in next)."""
        ctx = services.ctx
        await ctx.limiter.check(
            request.scope, ctx.options.rate_limit_auth, SOURCE, "signup", client_ip(request)
        )
        user = await services.accounts.create_user(
            UserCreate.model_validate(body.model_dump(exclude_unset=True))
        )
        data = {
            "user": translate.auth_user(user, with_roles=True),
            "session": None,
            "message": SIGNUP_MESSAGE,
        }
        return ok(request, data, 201)

    @router.post("/auth/signin", response_model=None)
    async def signin(body: schemas.SignIn, request: Request, services: ServicesDep) -> Response:
        """Sign in: a one-hour access token and a rotating refresh token."""
        limiter = services.ctx.limiter
        counters = (
            (
                FAILED_SIGNINS_PER_ACCOUNT,
                (SOURCE, "signin-account", rules.lookup_email(body.email)),
            ),
            (FAILED_SIGNINS_PER_IP, (SOURCE, "signin-ip", client_ip(request))),
        )
        for rate, key in counters:
            decision = await limiter.peek(rate, *key)
            if not decision.allowed:
                raise RateLimited(
                    "Too many failed sign-in attempts. Try again later.",
                    code="too_many_signin_failures",
                    retry_after=decision.retry_after,
                )
        try:
            user = await services.accounts.authenticate(body.email, body.password)
        except InvalidCredentials:
            for rate, key in counters:
                await limiter.hit(rate, *key)
            raise
        pair = await services.accounts.start_session(
            user.id, user_agent=request.headers.get("user-agent")
        )
        data = {"user": translate.auth_user(user), "session": translate.session(pair)}
        return ok(request, data)

    @router.post("/auth/refresh", response_model=None)
    async def refresh(body: schemas.Refresh, request: Request, services: ServicesDep) -> Response:
        """Exchange a refresh token for a new pair; a reused token ends its session."""
        ctx = services.ctx
        await ctx.limiter.check(
            request.scope, ctx.options.rate_limit_default, SOURCE, "refresh", client_ip(request)
        )
        pair = await services.accounts.refresh(body.refresh_token)
        return ok(request, translate.refreshed(pair))

    @router.get("/users/profile", response_model=None)
    async def get_profile(
        request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """The caller's profile."""
        await admit(request, services, principal)
        require_session(principal)
        return ok(request, translate.profile(await services.accounts.get_user(principal.user_id)))

    @router.put("/users/profile", response_model=None)
    async def put_profile(
        body: schemas.ProfileUpdate,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Response:
        """Change the fields that are sent."""
        await admit(request, services, principal)
        require_session(principal)
        change = UserUpdate.model_validate(body.model_dump(exclude_unset=True))
        user = await services.accounts.update_profile(principal.user_id, change)
        return ok(request, translate.profile(user))

    @router.post("/users/profile/onboarding", response_model=None)
    async def onboarding(
        body: schemas.Onboarding,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Response:
        """Store the onboarding answers and mark the survey completed."""
        await admit(request, services, principal)
        require_session(principal)
        fields = body.model_dump(exclude_unset=True)
        fields["survey_completed"] = True
        user = await services.accounts.update_profile(
            principal.user_id, UserUpdate.model_validate(fields)
        )
        return ok(request, translate.profile(user))

    @router.delete("/users/profile", response_model=None)
    async def delete_profile(
        request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Delete the account and everything it owns, on every face."""
        await admit(request, services, principal)
        require_session(principal)
        await services.delete_account(principal.user_id)
        services.ctx.catalogs.forget_user(principal.user_id)
        return ok(request, {"message": "User account deleted successfully"})
