"""`GET /api/health`: the server and the services it depends on.

A shared path (CloudToLocalLLM clients call it too): this face contributes `success` and
`data`, computed from the app's own health checks (the ones `/healthz` runs), so the
answer is live and no dependency is pinged twice per check.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from switchboard.api.context import get_context
from switchboard.api.health import request_health_report
from switchboard.api.shared_paths import SharedFragment
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services
from switchboard.core.ops.health import HealthReport, Status

PATH = "/api/health"
# The services the document lists, each named as the app's health checks name them.
SERVICES = ("database", "redis", "ollama", "comfyui")
STATUS: dict[Status, str] = {"ok": "healthy", "degraded": "degraded", "down": "unhealthy"}


async def health(
    request: Request, services: Services, principal: Principal | None
) -> dict[str, Any]:
    """`{success, data: {status, timestamp, services}}` from a fresh health report."""
    report = await request_health_report(request, await get_context(request))
    return {"success": True, "data": health_body(report, datetime.now(UTC))}


def health_body(report: HealthReport, now: datetime) -> dict[str, Any]:
    """The document's health object: each service `connected`, `disconnected`, or
    `not_configured` when the operator did not set it up (no check runs for it)."""
    states: dict[str, str] = {}
    for name in SERVICES:
        check = report.check(name)
        if check is None:
            states[name] = "not_configured"
        else:
            states[name] = "connected" if check.ok else "disconnected"
    return {
        "status": STATUS[report.status],
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "services": states,
    }


HEALTH = SharedFragment(path=PATH, keys=frozenset({"success", "data"}), build=health)
