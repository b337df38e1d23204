"""The service container as FastAPI dependencies: the app's context and one unit of work
per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Annotated

from fastapi import Depends, Request

from switchboard.core.container import AppContext, Services


async def get_context(request: Request) -> AppContext:
    """The application context the composition root attached to the app.

    `async` on purpose: FastAPI runs a plain `def` dependency in a worker thread, a
    thread hop on every request.
    """
    ctx: AppContext = request.app.state.ctx
    return ctx


async def get_services(
    ctx: Annotated[AppContext, Depends(get_context)],
) -> AsyncIterator[Services]:
    """One unit of work per request, committed before the response is sent."""
    async with ctx.open_services() as services:
        yield services


def request_services(request: Request) -> AbstractAsyncContextManager[Services]:
    """`get_services` without dependency injection, for the gateway's hottest routes.

    FastAPI's dependency solving costs more per request than everything else the
    gateway's chat route does in this process; a route that opens its unit of work
    with this gets the same semantics (commit before the response is sent, rollback on
    error) for a fraction of it.
    """
    ctx: AppContext = request.app.state.ctx
    return ctx.open_services()


ContextDep = Annotated[AppContext, Depends(get_context)]
# scope="function": commit before the response goes out, so a client that reads right
# after a write always sees it.
ServicesDep = Annotated[Services, Depends(get_services, scope="function")]
