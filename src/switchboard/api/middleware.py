"""Pure-ASGI middleware: request ids, access logs and metrics, the body-size limit and
trusted reverse proxies; and the router's trailing-slash redirect, made relative.

Written against raw ASGI rather than BaseHTTPMiddleware because they sit on every
request, streaming ones included, and must not buffer or copy anything.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.api.errors import BodyTooLarge
from switchboard.api.metrics import observe_request
from switchboard.api.peers import address_of, parse_networks

log = structlog.get_logger("switchboard.access")

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_SECRET_QUERY = re.compile(r"((?:^|&)(?:token|access_token|api_key|key)=)[^&]*", re.IGNORECASE)


def request_id_of(scope: Scope) -> str:
    """The request id given to this request by `RequestContextMiddleware`."""
    return str(scope.get("state", {}).get("request_id", ""))


class RequestContextMiddleware:
    """Accepts or generates `X-Request-ID`, echoes it, logs and measures each request.

    `access_log=False` drops the per-request log line (metrics are still recorded).
    """

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        scope["state"]["started"] = time.perf_counter()
        header = (b"x-request-id", request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [header]
                decision = scope["state"].get("ratelimit")
                if decision is not None:
                    extra += decision.headers()
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        started = time.perf_counter()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            observe_request(scope.get("method", "WS"), route, status, elapsed)
            if self.access_log:
                log.info(
                    "request",
                    method=scope.get("method", "WS"),
                    path=scope.get("path", ""),
                    query=_scrub(scope.get("query_string", b"")),
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes`, whether or not they declare a length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        limit = self.max_bytes
        received = 0

        def refuse() -> BodyTooLarge:
            # FastAPI turns errors raised while reading a body into a generic 400; the
            # flag lets the face's error wrapper report what really happened.
            scope.setdefault("state", {})["body_too_large"] = True
            return BodyTooLarge(f"Request body is larger than {limit} bytes")

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise refuse()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise refuse()
            return message

        await self.app(scope, limited_receive, send)


_WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}


class TrustedProxyMiddleware:
    """Believes `X-Forwarded-For` and `X-Forwarded-Proto` from trusted proxies only.

    When the direct peer is one of `trusted` (IPs or CIDRs), `scope["client"]` becomes the
    nearest untrusted address of the `X-Forwarded-For` chain (so per-IP rate limits key
    on the real client) and `scope["scheme"]` the proxy's `X-Forwarded-Proto` (so cookies
    are `Secure` when the client used HTTPS). Anyone else's forwarding headers are ignored.
    Added only when proxies are configured: without them it costs nothing.
    """

    def __init__(self, app: ASGIApp, *, trusted: Iterable[str]) -> None:
        self.app = app
        networks = parse_networks(trusted)

        # Clients are few compared to requests: remember each address's answer.
        @functools.lru_cache(maxsize=4096)
        def is_trusted(host: str) -> bool:
            address = address_of(host)
            return address is not None and any(address in net for net in networks)

        self.is_trusted: Callable[[str], bool] = is_trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            if peer is not None and self.is_trusted(peer[0]):
                self._believe(scope)
        await self.app(scope, receive, send)

    def _believe(self, scope: Scope) -> None:
        chain: list[str] = []
        proto: str | None = None
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                chain.extend(value.decode("latin-1").split(","))
            elif name == b"x-forwarded-proto":
                # The last value is the one our (trusted) proxy wrote.
                proto = value.decode("latin-1").rsplit(",", 1)[-1].strip().lower()
        client = self._real_client(chain)
        if client is not None:
            scope["client"] = (client, 0)
        if proto in _WEBSOCKET_SCHEMES:
            scope["scheme"] = proto if scope["type"] == "http" else _WEBSOCKET_SCHEMES[proto]

    def _real_client(self, chain: list[str]) -> str | None:
        """The nearest hop that is not a trusted proxy (each proxy appends its peer)."""
        client = None
        for hop in reversed(chain):
            address = address_of(hop)
            if address is None:
                # What lies beyond a garbled hop was not written by a trusted proxy.
                return client
            client = str(address)
            if not self.is_trusted(client):
                return client
        return client


def redirect_slashes_relatively(router: Router) -> None:
    """Starlette's trailing-slash redirect (307), with a relative `Location`.

    Starlette builds that redirect's absolute URL from the `Host` header, so a forged
    `Host` made the app redirect clients to another site. This one runs only where no
    route matched, as Starlette's did, and names the path alone.
    """
    fallback = router.default
    router.redirect_slashes = False

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        location = _slash_twin(router, scope) if scope["type"] == "http" else None
        if location is None:
            await fallback(scope, receive, send)
            return
        await RedirectResponse(location, status_code=307)(scope, receive, send)

    router.default = default


def _slash_twin(router: Router, scope: Scope) -> str | None:
    """The path with its trailing slash added or removed, when a route answers it."""
    path: str = scope["path"]
    if path == "/":
        return None
    twin = {**scope, "path": path.rstrip("/") if path.endswith("/") else path + "/"}
    if not any(route.matches(twin)[0] is not Match.NONE for route in router.routes):
        return None
    # One leading slash: "//host" and "/\\host" would be read as another site.
    location = "/" + str(twin["path"]).lstrip("/\\")
    query = scope.get("query_string", b"")
    return f"{location}?{query.decode('latin-1')}" if query else location


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if SAFE_REQUEST_ID.match(candidate) else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def _scrub(query: bytes) -> str:
    if not query:
        return ""
    return _SECRET_QUERY.sub(r"\1***", query.decode("latin-1"))
