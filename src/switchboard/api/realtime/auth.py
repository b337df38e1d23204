"""Credentials for sockets, which arrive in headers, query strings or handshake payloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from switchboard.api.auth import MAX_BEARER_LENGTH, principal_from_bearer
from switchboard.api.context import AppContext
from switchboard.core.accounts.principal import Principal

Authenticator = Callable[[str], Awaitable[Principal]]
"""Turns a presented credential into a principal; raises `Unauthenticated` otherwise."""


def bearer_from_header(value: str | None) -> str | None:
    """The credential of an `Authorization: Bearer ...` header value, or None."""
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return clean_token(token)


def clean_token(value: object) -> str | None:
    """`value` when it is a plausible credential (a non-empty, bounded string), else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_BEARER_LENGTH:
        return None
    return value


def bearer_authenticator(ctx: AppContext) -> Authenticator:
    """switchboard's own credentials (API key or access token), checked in a unit of work."""

    async def authenticate(token: str) -> Principal:
        async with ctx.unit_of_work() as uow:
            return await principal_from_bearer(ctx.services(uow), token)

    return authenticate
