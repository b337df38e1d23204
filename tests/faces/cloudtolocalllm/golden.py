"""The CloudToLocalLLM document's examples ("Health and Monitoring", "Error Handling"),
transcribed as published, and how an answer is checked against them: the same keys at
every level, values of the example's type, and the values the document allows."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

# GET /api/health, the document's response.
HEALTH: dict[str, Any] = {
    "status": "healthy",
    "timestamp": "2025-06-20T17:00:00.000Z",
    "services": {
        "api": "healthy",
        "database": "healthy",
        "auth": "healthy",
        "streaming": "healthy",
    },
    "metrics": {"uptime": 86400, "activeConnections": 42, "requestsPerMinute": 150},
}

# GET /api/health/detailed, the document's response.
DETAILED: dict[str, Any] = {
    "status": "healthy",
    "services": {
        "api": {
            "status": "healthy",
            "responseTime": 15,
            "memoryUsage": "256MB",
            "cpuUsage": "5%",
        },
        "database": {"status": "healthy", "connections": 10, "queryTime": 8},
    },
    "infrastructure": {"containerCount": 4, "networkLatency": 2, "diskUsage": "45%"},
}

# The standard error format.
ERROR: dict[str, Any] = {
    "error": "error_code",
    "message": "Human-readable error message",
    "code": 400,
    "details": {"field": "validation_error_details"},
    "requestId": "req-uuid",
}

# The states the document's examples show ("healthy"), and the two a failing service is
# in (its error codes section has no other word for them).
STATES = {"healthy", "degraded", "unhealthy"}
STATUS_FIELDS = {"status", "api", "database", "auth", "streaming"}
FORMATS: dict[str, re.Pattern[str]] = {
    "memoryUsage": re.compile(r"^\d+MB$"),
    "cpuUsage": re.compile(r"^\d+%$"),
    "diskUsage": re.compile(r"^\d+%$"),
}


def check(golden: Any, actual: Any, *, nullable: Collection[str] = (), path: str = "") -> None:
    """`actual` has `golden`'s shape; the dotted paths in `nullable` may also be null
    (what switchboard cannot measure, as docs/faces/cloudtolocalllm.md says)."""
    if path in nullable and actual is None:
        return
    if isinstance(golden, dict):
        assert isinstance(actual, dict), (path, actual)
        assert set(actual) == set(golden), (path, sorted(actual), sorted(golden))
        for key, value in golden.items():
            check(value, actual[key], nullable=nullable, path=f"{path}.{key}".lstrip("."))
        return
    name = path.rsplit(".", 1)[-1]
    if isinstance(golden, bool) or golden is None:
        assert actual is golden, (path, actual)
    elif isinstance(golden, int):
        assert isinstance(actual, int) and not isinstance(actual, bool), (path, actual)
        assert actual >= 0, (path, actual)
    else:
        assert isinstance(actual, str), (path, actual)
        if name in STATUS_FIELDS:
            assert actual in STATES, (path, actual)
        if name in FORMATS:
            assert FORMATS[name].match(actual), (path, actual)
        if name == "timestamp":
            assert actual.endswith("Z"), actual
            datetime.fromisoformat(actual.replace("Z", "+00:00"))


def health_part(body: dict[str, Any]) -> dict[str, Any]:
    """This face's keys of a `/api/health` answer (other faces add theirs beside)."""
    return {key: body[key] for key in HEALTH if key in body}
