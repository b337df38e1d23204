"""Health, readiness, the analysis services' registry (administrators only: it probes
the providers) and the build's version."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from switchboard.api.context import ContextDep, ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.responses import JSONResponse
from switchboard.faces.pluginmind import translate
from switchboard.faces.pluginmind.auth import ADMIN, PUBLIC
from switchboard.faces.pluginmind.errors import envelope, render_error
from switchboard.faces.pluginmind.options import OptionsDep
from switchboard.kit.clock import utcnow

router = APIRouter(tags=["pluginmind"], route_class=face_route_class(render_error))


@router.get("/health", response_model=None, dependencies=[PUBLIC])
async def health(ctx: ContextDep, services: ServicesDep) -> Response:
    """Liveness with the number of analyses queued or running."""
    report = await ctx.health.report()
    if not report.ready:
        return JSONResponse({"status": "degraded", "active_jobs": None})
    counts = await services.job_counts()
    active = counts.get("pending", 0) + counts.get("running", 0)
    return JSONResponse({"status": "ok", "active_jobs": active})


@router.get("/live", response_model=None, dependencies=[PUBLIC])
async def live() -> Response:
    """Always live while the process answers."""
    return JSONResponse({"status": "live"})


@router.get("/ready", response_model=None, dependencies=[PUBLIC])
async def ready(request: Request, ctx: ContextDep, services: ServicesDep) -> Response:
    """Database and configuration checks; 503 with the checks when not ready."""
    report = await ctx.health.report()
    database = next((c for c in report.checks if c.name == "database"), None)
    problems = services.analysis_workflow.configuration_problems()
    checks = {
        "db": "ok" if database is None or database.ok else "unavailable",
        "env": "ok" if not problems else "; ".join(problems),
        "google_sign_in": "configured" if ctx.google.configured else "not_configured",
        "rate_limits": "degraded" if ctx.limiter.degraded else "ok",
    }
    # Without Redis the server runs the jobs itself; with Redis, "none alive; oldest
    # pending job waited 42 s" when no worker heartbeat is alive (degraded, still ready).
    workers = report.check("workers")
    checks["workers"] = "ok" if workers is None or workers.ok else workers.error or "none"
    if report.ready and not problems:
        return JSONResponse({"status": "ready", "checks": checks})
    body = envelope(
        request,
        "SERVICE_UNAVAILABLE",
        "Service not ready",
        detail={"status": "not_ready", "checks": checks},
    )
    return JSONResponse(body, status_code=503)


@router.get("/services", response_model=None, dependencies=[ADMIN])
async def services_registry(services: ServicesDep) -> Response:
    """The analysis services, their live health, the analysis types and endpoints."""
    workflow = services.analysis_workflow
    return JSONResponse(translate.services_body(workflow.registry(), await workflow.health()))


@router.get("/services/health", response_model=None, dependencies=[ADMIN])
async def services_health(services: ServicesDep) -> Response:
    """The live health of every analysis service."""
    health = await services.analysis_workflow.health()
    return JSONResponse(translate.services_health_body(health, utcnow()))


@router.get("/version", response_model=None, dependencies=[PUBLIC])
async def version(options: OptionsDep) -> Response:
    """Name, version and the git commit this build came from."""
    return JSONResponse(
        {"name": options.name, "version": options.version, "git_sha": options.git_sha or "-"}
    )
