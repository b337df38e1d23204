"""`GET /healthz`: the operator's view of the dependencies, whatever faces are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from switchboard import __version__
from switchboard.api.responses import JSONResponse
from switchboard.core.container import AppContext


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
        }
        return JSONResponse(body, status_code=200 if report.ready else 503)

    return router
