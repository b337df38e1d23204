"""Prometheus metrics and the `/metrics` endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

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


def metrics_router() -> APIRouter:
    """`GET /metrics` in Prometheus' text format."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
