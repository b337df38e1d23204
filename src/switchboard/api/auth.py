"""Authentication as ordered chains of credential schemes, one for HTTP and sockets.

A face declares one `AuthChain` (for example `Bearer()`, then `Cookie("pm_session")`,
then `LocalTrust()`); the same chain authenticates its routes, its WebSockets and its
Socket.IO handshakes, because every scheme reads a `Handshake`: the connection's ASGI
scope plus, for Socket.IO, the client's `auth` payload. A scheme either finds no
credential of its kind (the chain tries the next one), or decides: a principal, or
`Unauthenticated` when the credential it found is wrong. What a presented token *is*
(an API key, an access token, a face's own prefix) is decided by core, by its shape.

A 401 says how to authenticate (`www_authenticate`, which every face's error renderer
adds): `WWW-Authenticate: Bearer realm="switchboard"`, with `error="invalid_token"` when a
bearer credential was presented and refused (RFC 6750 section 3.1); the chain records
which kind of credential it refused on the connection's state.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from starlette.requests import HTTPConnection
from starlette.types import Scope

from switchboard.api.context import ServicesDep
from switchboard.api.localtrust import is_trusted_local
from switchboard.core.accounts.errors import TokenExpired, TokenRevoked
from switchboard.core.accounts.principal import AuthMethod, Principal
from switchboard.core.accounts.rules import ADMIN_SCOPE
from switchboard.core.container import Services
from switchboard.core.errors import PermissionDenied, Unauthenticated

MAX_BEARER_LENGTH = 4096
# The WebSocket subprotocol announcing that the next offered one is a bearer token; the
# server selects it (never the token) so that browsers complete the handshake.
BEARER_SUBPROTOCOL = "bearer"
REALM = "switchboard"
# Where the chain records the kind of credential it refused ("bearer" or "cookie").
_REJECTED_STATE_KEY = "rejected_credential"


@dataclass(frozen=True, slots=True)
class Handshake:
    """Where credentials can arrive: one HTTP request, WebSocket or Socket.IO connect."""

    # The request or WebSocket (its parsed headers, cookies, query and client are reused).
    connection: HTTPConnection
    # Socket.IO's `auth` payload (`io(url, {auth: {token}})`); None elsewhere.
    socketio_auth: object = None

    @classmethod
    def from_scope(cls, scope: Scope, socketio_auth: object = None) -> Handshake:
        """The handshake of a bare ASGI scope (Socket.IO's connect)."""
        return cls(HTTPConnection(scope), socketio_auth)

    @property
    def scope(self) -> Scope:
        """The connection's ASGI scope."""
        return self.connection.scope

    @property
    def is_socket(self) -> bool:
        """A WebSocket or Socket.IO handshake, where browsers cannot set headers."""
        return self.scope["type"] == "websocket" or self.socketio_auth is not None


def clean_token(value: object) -> str | None:
    """`value` when it is a plausible credential (a non-empty, bounded string), else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_BEARER_LENGTH:
        return None
    return value


def bearer_from_header(value: str | None) -> str | None:
    """The credential of an `Authorization: Bearer ...` header value, or None."""
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return clean_token(token.strip())


def bearer_token(conn: HTTPConnection) -> str | None:
    """The credential of an `Authorization: Bearer` header, or None."""
    return bearer_from_header(conn.headers.get("authorization"))


def presented_bearer(handshake: Handshake) -> str | None:
    """The bearer credential of a handshake: its header, else Socket.IO's `auth.token`,
    else on a WebSocket the subprotocol pair `bearer, <token>` (browsers cannot set
    headers on a WebSocket, and a subprotocol stays out of URLs and their logs)."""
    token = bearer_token(handshake.connection)
    if token is None and isinstance(handshake.socketio_auth, Mapping):
        token = clean_token(handshake.socketio_auth.get("token"))
    if token is None and handshake.scope["type"] == "websocket":
        token = subprotocol_bearer(handshake.scope)
    return token


def offered_subprotocols(scope: Scope) -> list[str]:
    """The subprotocols a WebSocket client offered, in its order."""
    offered = scope.get("subprotocols") or []
    return [str(protocol) for protocol in offered]


def subprotocol_bearer(scope: Scope) -> str | None:
    """The token offered as `Sec-WebSocket-Protocol: bearer, <token>`, or None."""
    offered = offered_subprotocols(scope)
    for index, protocol in enumerate(offered[:-1]):
        if protocol.lower() == BEARER_SUBPROTOCOL:
            return clean_token(offered[index + 1])
    return None


class Scheme(Protocol):
    """One way a credential can be presented."""

    async def authenticate(self, handshake: Handshake, services: Services) -> Principal | None:
        """The principal when this scheme's credential is present; None when it is absent;
        `Unauthenticated` when it is present but not valid."""
        ...


@dataclass(frozen=True, slots=True)
class Bearer:
    """`Authorization: Bearer <token>`; on Socket.IO, also `auth: {token}`."""

    async def authenticate(self, handshake: Handshake, services: Services) -> Principal | None:
        """The principal behind a bearer token, if one is present."""
        token = presented_bearer(handshake)
        if token is None:
            return None
        return await services.verify_credential(token)


@dataclass(frozen=True, slots=True)
class QueryToken:
    """`?token=` on sockets and event streams only: URLs leak into logs and history, so a
    plain HTTP route never takes a credential from its query string."""

    name: str = "token"
    event_streams: bool = True

    async def authenticate(self, handshake: Handshake, services: Services) -> Principal | None:
        """The principal behind the query token of a socket or event stream."""
        conn = handshake.connection
        if not (handshake.is_socket or (self.event_streams and _wants_event_stream(conn))):
            return None
        token = clean_token(conn.query_params.get(self.name))
        if token is None:
            return None
        return await services.verify_credential(token)


@dataclass(frozen=True, slots=True)
class CookieMessages:
    """What a face says when its session cookie is missing, expired or invalid."""

    expired: str = "Session expired"
    invalid: str = "Invalid session token"


@dataclass(frozen=True, slots=True)
class Cookie:
    """A session cookie holding one of our access tokens."""

    name: str
    messages: CookieMessages = field(default_factory=CookieMessages)
    auth_method: AuthMethod = "session_cookie"

    async def authenticate(self, handshake: Handshake, services: Services) -> Principal | None:
        """The principal of the session cookie, if the request carries one."""
        value = handshake.connection.cookies.get(self.name)
        if not value:
            return None
        try:
            return await services.accounts.verify_access_token(value, auth_method=self.auth_method)
        except (TokenExpired, TokenRevoked):
            raise Unauthenticated(self.messages.expired, code="session_expired") from None
        except Unauthenticated:
            # Not ours (another deployment's secret), tampered with, or for no session.
            raise Unauthenticated(self.messages.invalid, code="invalid_session") from None


@dataclass(frozen=True, slots=True)
class LocalTrust:
    """A loopback client without credentials acts as the owner, while the operator's
    local-trust setting allows it (see `api.localtrust` for every condition)."""

    async def authenticate(self, handshake: Handshake, services: Services) -> Principal | None:
        """The owner's principal for a trusted local connection; None otherwise."""
        options = services.ctx.options
        if not options.local_trust or not is_trusted_local(handshake.scope):
            return None
        return await services.accounts.owner_principal(options.owner_email)


@dataclass(frozen=True, slots=True)
class SharedSecret:
    """A fixed secret (a master token) compared in constant time; acts as the owner.

    Any other bearer token passes on to the next scheme (the face's own API keys).
    """

    secret: str

    async def authenticate(self, handshake: Handshake, services: Services) -> Principal | None:
        """The owner's principal when the bearer token is the secret."""
        token = presented_bearer(handshake)
        if token is None or not hmac.compare_digest(token.encode(), self.secret.encode()):
            return None
        owner = await services.accounts.owner_principal(services.ctx.options.owner_email)
        return dataclasses.replace(owner, auth_method="master_token")


class AuthChain:
    """Schemes tried in order: the first that finds its credential decides.

    Instances are FastAPI dependencies (`Depends(chain.require)` is the same callable on
    every route, so a request authenticates once however many dependencies ask).
    """

    def __init__(
        self,
        *schemes: Scheme,
        missing: str = "Missing bearer token",
        missing_code: str = "missing_credentials",
    ) -> None:
        self.schemes = schemes
        self.missing = missing
        self.missing_code = missing_code

    async def authenticate(self, handshake: Handshake, services: Services) -> Principal | None:
        """The caller, or None when no scheme found a credential."""
        for scheme in self.schemes:
            try:
                principal = await scheme.authenticate(handshake, services)
            except Unauthenticated:
                mark_rejected(handshake.connection, _credential_kind(scheme))
                raise
            if principal is not None:
                return principal
        return None

    async def principal(self, handshake: Handshake, services: Services) -> Principal:
        """The caller; `Unauthenticated` when no scheme found a credential."""
        principal = await self.authenticate(handshake, services)
        if principal is None:
            raise Unauthenticated(self.missing, code=self.missing_code)
        return principal

    async def require(self, request: Request, services: ServicesDep) -> Principal:
        """Dependency: the authenticated caller (401 in the face's shape otherwise)."""
        principal = await self.principal(Handshake(request), services)
        request.state.principal = principal
        return principal

    async def optional(self, request: Request, services: ServicesDep) -> Principal | None:
        """Dependency: the caller when a credential was presented, else None."""
        principal = await self.authenticate(Handshake(request), services)
        if principal is not None:
            request.state.principal = principal
        return principal


def mark_rejected(conn: HTTPConnection, kind: str = "bearer") -> None:
    """Record that a credential of `kind` ("bearer", "cookie") was presented and refused,
    for the 401's challenge (a route checking a bearer token itself calls this too)."""
    conn.scope.setdefault("state", {})[_REJECTED_STATE_KEY] = kind


def www_authenticate(conn: HTTPConnection, status: int, code: str) -> dict[str, str]:
    """The challenge header of an error response: every 401 says the scheme to use
    (Bearer: every face takes switchboard's bearer credentials), with
    `error="invalid_token"` when a bearer credential was refused; a 403 for a key lacking
    a scope says `error="insufficient_scope"`. Never the token or the refusal's text."""
    if status == 403 and code == "missing_scope":
        return {"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope"'}
    if status != 401:
        return {}
    if conn.scope.get("state", {}).get(_REJECTED_STATE_KEY) == "bearer":
        return {"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'}
    return {"WWW-Authenticate": f'Bearer realm="{REALM}"'}


def _credential_kind(scheme: Scheme) -> str:
    # A refused cookie is a session the browser holds, not a bearer token the client sent.
    return "cookie" if isinstance(scheme, Cookie) else "bearer"


def require_scope(principal: Principal, scope: str | None) -> None:
    """Refuse an API key that was not given `scope`; `None` admits signed-in sessions only
    (default deny: a route that names no scope is closed to every API key), and the admin
    scope admits administrators only."""
    if scope is None:
        if principal.scopes is not None:
            raise PermissionDenied(
                "This action needs a signed-in session; API keys cannot do it",
                code="session_required",
            )
        return
    if scope == ADMIN_SCOPE and not principal.is_admin:
        # `is_admin` is already narrowed by the credential (a key needs the admin scope).
        raise PermissionDenied("This action is for administrators only", code="admin_required")
    if not principal.has_scope(scope):
        raise PermissionDenied(f"This API key lacks the '{scope}' scope", code="missing_scope")


# switchboard's own credentials, which every face accepts.
BEARER = AuthChain(Bearer())

PrincipalDep = Annotated[Principal, Depends(BEARER.require)]


async def require_principal(request: Request, services: Services) -> Principal:
    """`BEARER.require` for routes that open their unit of work themselves."""
    return await BEARER.require(request, services)


def _wants_event_stream(conn: HTTPConnection) -> bool:
    accept: Any = conn.headers.get("accept", "")
    return "text/event-stream" in str(accept)
