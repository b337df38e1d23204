"""Sockets authenticate with the same chains as routes: one handshake, one unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from switchboard.api.auth import AuthChain, Handshake, require_scope
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import AppContext

Authenticator = Callable[[Handshake], Awaitable[Principal]]
"""Turns a socket's handshake into a principal; raises `Unauthenticated` otherwise."""


def chain_authenticator(ctx: AppContext, chain: AuthChain, *, scope: str | None) -> Authenticator:
    """`chain`'s verdict on a handshake, reached in a unit of work of its own; an API key
    must carry `scope` (None: signed-in sessions only), as on routes."""

    async def authenticate(handshake: Handshake) -> Principal:
        async with ctx.open_services() as services:
            principal = await chain.principal(handshake, services)
        require_scope(principal, scope)
        return principal

    return authenticate
