"""Prometheus metrics and the `/metrics` endpoint."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from switchboard.api.peers import is_direct_loopback

REQUESTS = Counter(
    "switchboard_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "switchboard_http_request_duration_seconds",
    "Time to the end of the response, streams included",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UPSTREAM_ERRORS = Counter(
    "switchboard_upstream_errors_total",
    "Upstream failures by provider and kind",
    ["provider", "kind"],
)
TOKENS = Counter(
    "switchboard_tokens_total", "Tokens by provider and direction", ["provider", "direction"]
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one finished request."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def metrics_router(token: str | None = None) -> APIRouter:
    """`GET /metrics` in Prometheus' text format, for `Authorization: Bearer <token>`
    when a token is set, otherwise for clients on this host only."""
    router = APIRouter()
    # An empty token (a variable set to "") would open them to `Bearer ` with nothing.
    token = token or None

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        refusal = _refusal(request, token)
        if refusal is not None:
            return refusal
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _refusal(request: Request, token: str | None) -> Response | None:
    if token is None:
        if is_direct_loopback(request.scope):
            return None
        return Response(
            "Metrics are served to clients on this host only; set SWITCHBOARD_METRICS_TOKEN.",
            status_code=403,
            media_type="text/plain",
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return Response(
        "A valid metrics token is required.",
        status_code=401,
        media_type="text/plain",
        headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
    )
