"""Health and monitoring: `GET /api/health` (a shared path) and `GET /api/health/detailed`.

`/api/health` is public, as the original's was: Spoon Feeder clients call the same path,
so this face contributes `status`, `timestamp`, `services` and `metrics` beside Spoon
Feeder's `success` and `data`. `/api/health/detailed` shows the process's memory, CPU
and database pool, which are for administrators: it takes an administrator's credential
(an API key needs the `admin` scope).

Both come from the app's own health checks (the ones `/healthz` runs, once per call) and
from the process's live figures (`monitor`); nothing is a constant.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request

from switchboard.api.admission import Admit
from switchboard.api.context import ContextDep, get_context
from switchboard.api.draining import draining_of
from switchboard.api.errors import face_route_class
from switchboard.api.faces import face_options
from switchboard.api.health import request_health_report
from switchboard.api.responses import JSONResponse
from switchboard.api.shared_paths import SharedFragment
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.rules import ADMIN_SCOPE
from switchboard.core.container import Services
from switchboard.core.ops.health import CheckResult, HealthReport, Status
from switchboard.faces.cloudtolocalllm.auth import CHAIN, SOURCE
from switchboard.faces.cloudtolocalllm.errors import render_error
from switchboard.faces.cloudtolocalllm.monitor import (
    disk_used_percent,
    monitor_of,
    open_streams,
    pool_connections,
    resident_bytes,
)
from switchboard.faces.cloudtolocalllm.options import CloudToLocalLLMOptions

PATH = "/api/health"
Health = Literal["healthy", "degraded", "unhealthy"]
STATUS: dict[Status, Health] = {"ok": "healthy", "degraded": "degraded", "down": "unhealthy"}
_RANK: dict[Health, int] = {"healthy": 0, "degraded": 1, "unhealthy": 2}
MIB = 1024 * 1024

OptionsDep = Annotated[CloudToLocalLLMOptions, Depends(face_options(CloudToLocalLLMOptions))]

router = APIRouter(
    prefix="/api",
    tags=["cloudtolocalllm"],
    route_class=face_route_class(render_error),
    dependencies=[Admit(CHAIN, scope=ADMIN_SCOPE, rule="default", group=SOURCE)],
)


def service_states(report: HealthReport, *, draining: bool) -> dict[str, Health]:
    """The document's four services, each from what it depends on here.

    `api`: this process serves (unhealthy once it is shutting down). `database`: the
    database answers. `auth`: accounts, sessions and API keys live in the database, so
    it follows the database. `streaming`: replies stream through the event bus, which
    spans replicas with Redis (degraded when that bus does not answer; in-process
    without Redis, nothing to fail).
    """
    database = _state(report.check("database"), failed="unhealthy")
    return {
        "api": "unhealthy" if draining else "healthy",
        "database": database,
        "auth": database,
        "streaming": _state(report.check("event_bus"), failed="degraded"),
    }


def overall(report: HealthReport, states: dict[str, Health]) -> Health:
    """The report's verdict (degraded when an optional dependency is away, unhealthy when
    the database is), or unhealthy while the process shuts down."""
    return max(STATUS[report.status], states["api"], key=_RANK.__getitem__)


def timestamp(now: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as the document writes it."""
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def health(
    request: Request, services: Services, principal: Principal | None
) -> dict[str, Any]:
    """`{status, timestamp, services, metrics}` from a fresh health report."""
    ctx = await get_context(request)
    report = await request_health_report(request, ctx)
    monitor = monitor_of(ctx)
    states = service_states(report, draining=draining_of(request.app).is_set())
    return {
        "status": overall(report, states),
        "timestamp": timestamp(datetime.now(UTC)),
        "services": states,
        "metrics": {
            "uptime": int(monitor.uptime()),
            "activeConnections": open_streams(request.app),
            "requestsPerMinute": monitor.requests_per_minute(monitor.take()),
        },
    }


HEALTH = SharedFragment(
    path=PATH, keys=frozenset({"status", "timestamp", "services", "metrics"}), build=health
)


@router.get("/health/detailed", response_model=None)
async def detailed_health(request: Request, ctx: ContextDep, options: OptionsDep) -> JSONResponse:
    """The services with their figures, and the host's: for administrators."""
    started = request.scope.get("state", {}).get("started", time.perf_counter())
    report = await ctx.health.report()
    monitor = monitor_of(ctx)
    states = service_states(report, draining=draining_of(request.app).is_set())
    memory = f"{round(resident_bytes() / MIB)}MB"
    cpu = _percent(monitor.cpu_percent(monitor.take()))
    connections = pool_connections(ctx.engine.pool)
    disk = _percent(disk_used_percent(options.data_dir))
    # The time to this answer, from its arrival to here (the checks included).
    elapsed = round((time.perf_counter() - started) * 1000)
    body = {
        "status": overall(report, states),
        "services": {
            "api": {
                "status": states["api"],
                "responseTime": elapsed,
                "memoryUsage": memory,
                "cpuUsage": cpu,
            },
            "database": {
                "status": states["database"],
                "connections": connections,
                # The check's `SELECT 1`, timed from asking the pool for a connection.
                "queryTime": _ms(report.check("database")),
            },
        },
        "infrastructure": {
            # switchboard runs no containers and does not know its replicas: no count.
            "containerCount": None,
            # A Redis PING is one round trip on the network; null without Redis.
            "networkLatency": _ms(report.check("redis")),
            "diskUsage": disk,
        },
    }
    return JSONResponse(body)


def _state(check: CheckResult | None, *, failed: Health) -> Health:
    return "healthy" if check is None or check.ok else failed


def _ms(check: CheckResult | None) -> int | None:
    """A check's round trip in whole milliseconds, when it succeeded."""
    return round(check.latency_ms) if check is not None and check.ok else None


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{round(value)}%"
