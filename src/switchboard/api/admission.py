"""Admission: the scope a route needs and the rate it is counted against, declared once.

Every face route declares an `Admit` (default deny: the registry refuses to mount a
face route without one, and a test walks every route). An `Admit` is a FastAPI
dependency: it authenticates the caller through the face's chain (or not, for public
routes), checks the API key's scope, counts the request against a named rate per user
or per address, and leaves the rate-limit headers for the response in the dialect the
face's document uses.
"""

# No `from __future__ import annotations`: FastAPI resolves string annotations against the
# module's globals, and the dependencies built below name a chain local to their builder.
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.types import Scope

from switchboard.api.auth import AuthChain, require_scope
from switchboard.api.context import ContextDep
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import AppContext
from switchboard.core.errors import RateLimited
from switchboard.core.ops.ratelimit import RateDecision

ADMISSION_ATTRIBUTE = "__admission__"
STATE_KEY = "ratelimit"


class KeyBy(StrEnum):
    """Whose counter a request is counted on."""

    USER = "user"  # the caller's account (authenticated routes)
    IP = "ip"  # the peer address (sign-in, public routes)
    USER_OR_IP = "user_or_ip"  # the account when signed in, else the address


class Dialect(StrEnum):
    """The rate-limit headers a face's clients read."""

    X_RATELIMIT = "x-ratelimit"  # X-RateLimit-Limit / -Remaining / -Reset (epoch seconds)
    RATELIMIT = "ratelimit"  # RateLimit-Limit / -Remaining / -Reset (seconds from now)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class RateHeaders:
    """A decision and how to show it; the request-context middleware sends the headers."""

    decision: RateDecision
    dialect: Dialect

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as raw ASGI pairs."""
        d = self.decision
        if self.dialect is Dialect.NONE:
            return []
        if self.dialect is Dialect.X_RATELIMIT:
            prefix, reset = b"x-ratelimit-", math.ceil(d.reset_at)
        else:
            prefix, reset = b"ratelimit-", d.retry_after
        return [
            (prefix + b"limit", str(d.limit).encode()),
            (prefix + b"remaining", str(max(d.remaining, 0)).encode()),
            (prefix + b"reset", str(reset).encode()),
        ]


@dataclass(frozen=True, slots=True)
class Admission:
    """What a route declares: the scope it needs and the rate rule it counts against."""

    scope: str | None = None
    rule: str | None = "default"  # a named rate (AppOptions), a literal "N/period", or None
    key: KeyBy = KeyBy.USER
    dialect: Dialect = Dialect.X_RATELIMIT
    group: str = "switchboard"  # counters are per group: one face's traffic is its own
    public: bool = False  # no credential is asked for

    def rate(self, ctx: AppContext) -> str | None:
        """The rate this admission counts against."""
        if self.rule is None or "/" in self.rule:
            return self.rule
        options = ctx.options
        if self.rule == "default":
            return options.rate_limit_default
        if self.rule == "auth":
            return options.rate_limit_auth
        return options.rate_limits[self.rule]

    async def check(self, request: Request, ctx: AppContext, principal: Principal | None) -> None:
        """Scope, then rate: raises `PermissionDenied` or `RateLimited`."""
        if principal is not None:
            require_scope(principal, self.scope)
        rate = self.rate(ctx)
        if rate is None:
            return
        key = self._key(request, principal)
        decision = await ctx.limiter.hit(rate, self.group, *key)
        remember(request.scope, decision, self.dialect)
        if not decision.allowed:
            raise RateLimited(
                "Rate limit exceeded. Try again later.",
                code="rate_limit_exceeded",
                retry_after=decision.retry_after,
            )

    def _key(self, request: Request, principal: Principal | None) -> tuple[str, ...]:
        if principal is not None and self.key is not KeyBy.IP:
            return ("user", principal.user_id)
        return ("ip", client_ip(request))


def Admit(  # noqa: N802 - reads as a declaration: dependencies=[Admit(...)]
    chain: AuthChain | None,
    *,
    scope: str | None = None,
    rule: str | None = "default",
    key: KeyBy = KeyBy.USER,
    dialect: Dialect = Dialect.X_RATELIMIT,
    group: str = "switchboard",
    optional: bool = False,
) -> Any:
    """The dependency admitting a request to a route.

    `chain=None` is a public route (no principal); `optional=True` admits anonymous
    callers too, counted per address (PluginMind's limits before sign-in).
    """
    admission = Admission(
        scope, rule, KeyBy.IP if chain is None else key, dialect, group, public=chain is None
    )
    if chain is None:

        async def public(request: Request, ctx: ContextDep) -> None:
            await admission.check(request, ctx, None)

        return _mark(Depends(public), public, admission)
    who = chain.optional if optional else chain.require

    async def admit(
        request: Request,
        ctx: ContextDep,
        principal: Annotated[Principal | None, Depends(who)],
    ) -> None:
        await admission.check(request, ctx, principal)

    return _mark(Depends(admit), admit, admission)


def admitted_explicitly(admission: Admission) -> Callable[[Callable[..., Any]], Any]:
    """Marks an endpoint that runs `admission.check` itself (the gateway's lean routes)."""

    def mark(endpoint: Callable[..., Any]) -> Any:
        setattr(endpoint, ADMISSION_ATTRIBUTE, admission)
        return endpoint

    return mark


def admission_of(route: APIRoute) -> Admission | None:
    """The admission a route declares, through its dependencies or its endpoint."""
    found: Admission | None = getattr(route.endpoint, ADMISSION_ATTRIBUTE, None)
    pending = [route.dependant]
    while found is None and pending:
        dependant = pending.pop()
        found = getattr(dependant.call, ADMISSION_ATTRIBUTE, None)
        pending.extend(dependant.dependencies)
    return found


def remember(scope: Scope, decision: RateDecision, dialect: Dialect) -> None:
    """Leave `decision` for the response's rate-limit headers."""
    scope.setdefault("state", {})[STATE_KEY] = RateHeaders(decision, dialect)


def client_ip(request: Request) -> str:
    """The peer address (uvicorn applies trusted proxy headers before this)."""
    return request.client.host if request.client else "unknown"


def _mark(dependency: Any, call: Callable[..., Awaitable[None]], admission: Admission) -> Any:
    setattr(call, ADMISSION_ATTRIBUTE, admission)
    return dependency
