"""`GET /healthz`: the operator's view of the dependencies, whatever faces are mounted;
and the one health report of a request that several faces answer together."""

from __future__ import annotations

from fastapi import APIRouter, Request

from switchboard import __version__
from switchboard.api.responses import JSONResponse
from switchboard.core.container import AppContext
from switchboard.core.jobs.workers import WorkerStatus
from switchboard.core.ops.health import HealthReport

_REPORT = "switchboard_health_report"


def health_router(ctx: AppContext) -> APIRouter:
    """The router serving `/healthz` from `ctx.health` (503 while not ready)."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        report = await ctx.health.report()
        body = {
            "status": report.status,
            "version": __version__,
            "checks": {
                c.name: {"ok": c.ok, "latency_ms": c.latency_ms, "error": c.error}
                for c in report.checks
            },
            "down": report.down,
            "providers": report.providers,
            "workers": workers_body(report.workers),
        }
        return JSONResponse(body, status_code=200 if report.ready else 503)

    return router


def workers_body(workers: WorkerStatus | None) -> dict[str, object] | None:
    """`{"status": "ok"|"none", "alive": N, "oldest_pending_seconds": s|null}`; null
    without Redis (jobs run in the server) or when the heartbeats could not be read."""
    if workers is None:
        return None
    return {
        "status": "ok" if workers.alive else "none",
        "alive": workers.alive,
        "oldest_pending_seconds": workers.oldest_pending_seconds,
    }


async def request_health_report(request: Request, ctx: AppContext) -> HealthReport:
    """The health report of this request, made once: the faces sharing one health path
    (`/api/health`) each read it, so every dependency is checked once per call and the
    parts of one answer agree."""
    # In the scope itself: `request.state` may be shared with the app's lifespan state.
    report: HealthReport | None = request.scope.get(_REPORT)
    if report is None:
        report = request.scope[_REPORT] = await ctx.health.report()
    return report
