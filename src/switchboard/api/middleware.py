"""Pure-ASGI middleware: request ids, access logs and metrics, and the body-size limit.

Written against raw ASGI rather than BaseHTTPMiddleware because they sit on every
request, streaming ones included, and must not buffer or copy anything.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.api.errors import BodyTooLarge
from switchboard.api.metrics import observe_request

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
