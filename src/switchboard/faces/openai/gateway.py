"""What the face's routes share: its name, its admission and the lean routes' opening.

The routes with a body (chat, embeddings, images) are lean routes (`api.bodies`): their
unit of work, caller and admission are opened by `gateway_call` before the body is
parsed, so a caller without valid credentials gets a 401 whatever it sent, and the
endpoint finds them with `opened(request)`. That is `ServicesDep` + `PrincipalDep` +
`Admit` without FastAPI's dependency solving (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from fastapi import Request

from switchboard.api.admission import Admission
from switchboard.api.auth import require_principal
from switchboard.api.bodies import Prelude
from switchboard.api.context import get_context, request_services
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services
from switchboard.core.conversations.completions import Caller

SOURCE = "openai"
# Rate counters of this face's traffic (Admit's `group`).
GROUP = "openai"
_STATE_KEY = "openai_call"


@dataclass(frozen=True, slots=True)
class Opened:
    """A lean route's unit of work and its authenticated, admitted caller."""

    services: Services
    principal: Principal

    @property
    def caller(self) -> Caller:
        """The caller, for usage records."""
        return Caller(
            user_id=self.principal.user_id, source=SOURCE, api_key_id=self.principal.api_key_id
        )


def admission(scope: str) -> Admission:
    """A lean route's admission: `scope`, counted against the default rate per user."""
    return Admission(scope=scope, rule="default", group=GROUP)


def gateway_call(admitted: Admission) -> Prelude:
    """The opening of a lean route admitted by `admitted` (see the module docstring)."""

    def opening(request: Request) -> AbstractAsyncContextManager[None]:
        return _open(request, admitted)

    return opening


def opened(request: Request) -> Opened:
    """What `gateway_call` opened for this request."""
    found: Opened = request.scope["state"][_STATE_KEY]
    return found


@asynccontextmanager
async def _open(request: Request, admitted: Admission) -> AsyncIterator[None]:
    async with request_services(request) as services:
        principal = await require_principal(request, services)
        await admitted.check(request, await get_context(request), principal)
        request.scope.setdefault("state", {})[_STATE_KEY] = Opened(services, principal)
        yield
