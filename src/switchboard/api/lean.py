"""The opening of a lean route (`api.bodies`): its unit of work, caller and admission,
entered before the body is parsed, so that a caller without valid credentials gets a 401
whatever it sent. The endpoint finds them with `opened(request)`. That is `ServicesDep`
+ a principal dependency + `Admit`, without FastAPI's dependency solving (see
docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from fastapi import Request

from switchboard.api.admission import Admission
from switchboard.api.bodies import Prelude
from switchboard.api.context import get_context, request_services
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services

Authenticate = Callable[[Request, Services], Awaitable[Principal]]
"""The face's way to the caller (its chain's `require`); raises when there is none."""

_STATE_KEY = "switchboard_lean_call"


@dataclass(frozen=True, slots=True)
class Opened:
    """A lean route's unit of work and its authenticated, admitted caller."""

    services: Services
    principal: Principal


def lean_call(authenticate: Authenticate, admitted: Admission) -> Prelude:
    """The opening of a lean route whose caller `authenticate` finds, admitted by
    `admitted`."""

    def opening(request: Request) -> AbstractAsyncContextManager[None]:
        return _open(request, authenticate, admitted)

    return opening


def opened(request: Request) -> Opened:
    """What `lean_call` opened for this request."""
    found: Opened = request.scope["state"][_STATE_KEY]
    return found


@asynccontextmanager
async def _open(
    request: Request, authenticate: Authenticate, admitted: Admission
) -> AsyncIterator[None]:
    async with request_services(request) as services:
        principal = await authenticate(request, services)
        await admitted.check(request, await get_context(request), principal)
        request.scope.setdefault("state", {})[_STATE_KEY] = Opened(services, principal)
        yield
