"""Cross-origin browsers: which web origins may call the API and open its sockets.

`SWITCHBOARD_CORS_ORIGINS` lists exact origins (`https://chat.example.com`). Requests
carry credentials (session cookies, `Authorization`), so a wildcard is refused at start:
with credentials a browser would let any site read the answers.

- HTTP: Starlette's `CORSMiddleware` answers every preflight (`OPTIONS` with
  `Access-Control-Request-Method`) on any path, and adds the CORS headers to answers to a
  listed origin, exposing the headers clients read (`EXPOSED_HEADERS`). Answers to any
  other origin carry no CORS header at all, so the browser keeps them from the page.
- WebSocket handshakes (the faces' sockets and Socket.IO's `websocket` transport): an
  `Origin` that is neither listed nor this server's own is refused before the socket is
  accepted (HTTP 403). Browsers apply no CORS to sockets, so this is the only check; a
  client that sends no `Origin` is not a browser and is let through.
- Socket.IO's polling transport asks `origin_allowed` (python-socketio's
  `cors_allowed_origins`), which applies the same rule.

Local trust (`api.localtrust`) keeps its own, stricter rule on `Origin`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.kit.origins import parse_origins

log = structlog.get_logger(__name__)

# Response headers a browser page may read besides the CORS-safelisted ones.
EXPOSED_HEADERS = (
    "X-Request-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)
# How long a browser may reuse a preflight's answer.
PREFLIGHT_MAX_AGE_SECONDS = 600
# Close code of a refused handshake (sent before accepting: the client sees HTTP 403).
CLOSE_POLICY_VIOLATION = 1008

_POLICY_KEY = "origin_policy"
_ERROR_HEADERS_KEY = "cors_headers"
_HTTP_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    """The listed origins, and who may open a socket."""

    origins: frozenset[str] = frozenset()

    def lists(self, origin: str) -> bool:
        """Whether `origin` is one of the operator's origins."""
        return origin in self.origins

    def allows_socket(self, origin: str | None, scope: Scope) -> bool:
        """Whether a socket handshake from `origin` may go on: no `Origin` (not a
        browser), a listed one, or this server's own (a page it served)."""
        return origin is None or self.lists(origin) or origin == own_origin(scope)


def own_origin(scope: Scope) -> str | None:
    """This server's origin as the client addressed it (scheme as the trusted proxy
    reported it, `Host` as sent)."""
    host = _header(scope, b"host")
    scheme = _HTTP_SCHEMES.get(str(scope.get("scheme", "http")))
    if host is None or scheme is None:
        return None
    return f"{scheme}://{host.lower()}"


def origin_allowed(origin: str | None, environ: Mapping[str, Any]) -> bool:
    """python-socketio's `cors_allowed_origins` callable: the app's policy for sockets
    (same origin only when the hub runs outside the app)."""
    scope: Scope = environ.get("asgi.scope", {})
    policy = scope.get("state", {}).get(_POLICY_KEY) or OriginPolicy()
    allowed: bool = policy.allows_socket(origin or None, scope)
    return allowed


def cors_error_headers(scope: Scope) -> dict[str, str]:
    """The CORS headers an answer to this request must carry, for answers written past
    the middleware (the app's last-resort error handler); empty for unlisted origins."""
    headers: dict[str, str] = scope.get("state", {}).get(_ERROR_HEADERS_KEY, {})
    return dict(headers)


class CorsMiddleware:
    """Starlette's CORS for `origins` on HTTP, and the origin check of socket handshakes."""

    def __init__(self, app: ASGIApp, *, origins: Iterable[str]) -> None:
        self.app = app
        self.policy = OriginPolicy(frozenset(parse_origins(origins)))
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(self.policy.origins),
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            # A listed site may call a server on the user's own network (a LAN Ollama
            # box, a home server): the operator chose it by name.
            allow_private_network=True,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[_POLICY_KEY] = self.policy
        origin = _header(scope, b"origin")
        if kind == "websocket":
            await self._handshake(origin, scope, receive, send)
        else:
            await self._http(origin, scope, receive, send)

    async def _handshake(
        self, origin: str | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if self.policy.allows_socket(origin, scope):
            await self.app(scope, receive, send)
            return
        log.info("websocket_origin_refused", origin=origin, path=scope.get("path"))
        await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION})

    async def _http(self, origin: str | None, scope: Scope, receive: Receive, send: Send) -> None:
        if origin is not None and self.policy.lists(origin):
            scope["state"][_ERROR_HEADERS_KEY] = {
                **self.cors.simple_headers,
                "Access-Control-Allow-Origin": origin,
                "Vary": "Origin",
            }
            await self.cors(scope, receive, send)
        elif origin is not None and _is_preflight(scope):
            # Refused by Starlette with "Disallowed CORS origin" (400): clearer than a 405.
            await self.cors(scope, receive, send)
        else:
            # No Origin, or another site: its answer carries no CORS header, so that
            # site's page cannot read it.
            await self.app(scope, receive, send)


def _is_preflight(scope: Scope) -> bool:
    return (
        scope["method"] == "OPTIONS"
        and _header(scope, b"access-control-request-method") is not None
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None
