"""Routes of the PluginMind face, all at the root as in the original backend."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from switchboard.api.auth import bearer_token
from switchboard.api.context import ContextDep, ServicesDep
from switchboard.core.container import AppContext, Services
from switchboard.api.errors import face_route_class
from switchboard.api.responses import JSONResponse
from switchboard.core.accounts.google import GoogleTokenInvalid
from switchboard.core.accounts.principal import Principal
from switchboard.core.analysis.service import ANALYSIS_JOB, AnalysisWorkflow
from switchboard.core.jobs.errors import JobNotFound
from switchboard.core.jobs.leases import JobLeases
from switchboard.core.jobs.schemas import JobRead
from switchboard.faces.pluginmind import schemas, translate
from switchboard.faces.pluginmind.auth import (
    SOURCE,
    CookiePolicy,
    SessionDep,
    client_ip,
)
from switchboard.faces.pluginmind.errors import envelope, render_error
from switchboard.kit.clock import utcnow

MAX_JOBS_LISTED = 100


@dataclass(frozen=True, slots=True)
class PluginMindOptions:
    """What the composition root tells the face (it never reads settings itself)."""

    name: str = "switchboard"
    version: str = "0.0.0"
    git_sha: str | None = None
    # Per user (or per IP before sign-in), shared by all replicas through the limiter.
    # 120 per 2 minutes approximates the original's 60/minute with bursts of 120.
    rate_limit: str = "120/2 minutes"
    cookie: CookiePolicy = field(default_factory=CookiePolicy)


def build_router(options: PluginMindOptions | None = None) -> APIRouter:
    """The face's routes."""
    opts = options or PluginMindOptions()
    router = APIRouter(tags=["pluginmind"], route_class=face_route_class(render_error))
    _analysis_routes(router, opts)
    _job_and_log_routes(router)
    _user_routes(router)
    _auth_routes(router, opts)
    _meta_routes(router, opts)
    return router


def _limiter(
    opts: PluginMindOptions,
) -> Callable[[Request, Services, Principal | None], Awaitable[None]]:
    async def limit(request: Request, services: Services, principal: Principal | None) -> None:
        # Signed in: per user, whatever the address; before sign-in: per address.
        key = ("user", principal.user_id) if principal else ("ip", client_ip(request))
        await services.ctx.limiter.check(request.scope, opts.rate_limit, SOURCE, *key)

    return limit


def _analysis_routes(router: APIRouter, opts: PluginMindOptions) -> None:
    limit = _limiter(opts)

    @router.post("/process", response_model=None)
    async def process(
        body: schemas.AnalysisRequest,
        request: Request,
        principal: SessionDep,
        services: ServicesDep,
    ) -> Response:
        """Run the two-step analysis workflow for one of the analysis types."""
        await limit(request, services, principal)
        outcome = await _workflow(services.ctx).analyze(
            principal.user_id, translate.analysis_input(body)
        )
        return JSONResponse(translate.process_body(outcome))

    @router.post("/analyze", response_model=None)
    async def analyze(
        body: schemas.LegacyAnalyzeRequest,
        request: Request,
        principal: SessionDep,
        services: ServicesDep,
    ) -> Response:
        """The legacy crypto analysis."""
        await limit(request, services, principal)
        outcome = await _workflow(services.ctx).analyze(
            principal.user_id, translate.legacy_input(body)
        )
        return JSONResponse(translate.legacy_body(outcome))

    @router.post("/analyze-async", response_model=None)
    async def analyze_async(
        body: schemas.AnalysisRequest,
        request: Request,
        principal: SessionDep,
        services: ServicesDep,
    ) -> Response:
        """Start an analysis as a durable job (queued once this request commits)."""
        await limit(request, services, principal)
        job = await services.analysis.submit(
            principal.user_id, translate.analysis_input(body), services.jobs
        )
        return JSONResponse(translate.async_created(job))

    @router.get("/analyze-async/{job_id}", response_model=None)
    async def analyze_async_status(
        job_id: str, principal: SessionDep, services: ServicesDep
    ) -> Response:
        """An async analysis's state and, once done, its results."""
        job = await _analysis_job(services, principal, job_id)
        return JSONResponse(translate.async_status(job))


def _job_and_log_routes(router: APIRouter) -> None:
    @router.get("/jobs", response_model=None)
    async def list_jobs(principal: SessionDep, services: ServicesDep) -> Response:
        """The caller's analysis jobs, newest first."""
        page = await services.jobs.list_jobs(
            principal.user_id, type=ANALYSIS_JOB, limit=MAX_JOBS_LISTED
        )
        return JSONResponse(translate.jobs_body(list(page.items)))

    @router.delete("/jobs/{job_id}", response_model=None)
    async def delete_job(
        job_id: uuid.UUID, principal: SessionDep, services: ServicesDep
    ) -> Response:
        """Delete one of the caller's finished analysis jobs."""
        job = await _analysis_job(services, principal, str(job_id))
        await services.jobs.delete(principal.user_id, job.id)
        return JSONResponse({"message": f"Job {job.id} deleted successfully"})

    @router.get("/query-logs", response_model=None)
    async def query_logs(
        principal: SessionDep,
        services: ServicesDep,
        limit_: Annotated[int, Query(alias="limit", ge=1)] = 50,
        user_id: Annotated[str | None, Query(max_length=320)] = None,
    ) -> Response:
        """The caller's query log (an admin may name another user)."""
        logs = await services.analysis.query_logs(principal, user=user_id, limit=limit_)
        return JSONResponse(translate.logs_body(logs))


def _user_routes(router: APIRouter) -> None:
    @router.get("/me", response_model=None)
    async def me(principal: SessionDep, services: ServicesDep) -> Response:
        """The caller's account."""
        user = await services.accounts.get_user(principal.user_id)
        google_sub = await services.google.linked_subject(principal.user_id)
        return JSONResponse(translate.me_body(user, google_sub))

    @router.get("/me/usage", response_model=None)
    async def me_usage(principal: SessionDep, services: ServicesDep) -> Response:
        """The caller's query quota this month."""
        return JSONResponse(translate.usage_body(await services.analysis.quota(principal.user_id)))

    @router.get("/users/profile", response_model=None)
    async def profile(principal: SessionDep, services: ServicesDep) -> Response:
        """The caller's profile for the frontend, wrapped in `user`."""
        user = await services.accounts.get_user(principal.user_id)
        return JSONResponse({"user": translate.profile_user(user)})


def _auth_routes(router: APIRouter, opts: PluginMindOptions) -> None:
    limit = _limiter(opts)

    @router.post("/auth/google", response_model=None)
    async def auth_google(
        body: schemas.GoogleSignInRequest, request: Request, services: ServicesDep
    ) -> Response:
        """Sign in with a Google ID token; sets the `pm_session` cookie."""
        await limit(request, services, None)
        signed = await services.google.sign_in(
            body.id_token, user_agent=request.headers.get("user-agent")
        )
        user = translate.profile_user(signed.user, default_name=True)
        user["name"] = signed.identity.name or user["name"]
        user["picture"] = signed.identity.picture or user["picture"]
        response = JSONResponse({"status": "ok", "user": user})
        opts.cookie.set(response, request, signed.tokens.access_token)
        return response

    @router.post("/auth/logout", response_model=None)
    async def auth_logout(
        request: Request, principal: SessionDep, services: ServicesDep
    ) -> Response:
        """End the session server-side and clear the cookie."""
        if principal.session_id is not None:
            await services.accounts.revoke_session(principal.user_id, principal.session_id)
        response = JSONResponse({"status": "ok", "message": "Logged out successfully"})
        opts.cookie.clear(response, request)
        return response

    @router.get("/auth/validate", response_model=None)
    async def auth_validate(request: Request, services: ServicesDep) -> Response:
        """Check a Google ID token sent as `Authorization: Bearer` (the legacy helper)."""
        token = bearer_token(request)
        if token is None:
            raise GoogleTokenInvalid("Missing bearer token")
        identity = await services.google.verify(token)
        return JSONResponse({"valid": True, "user_id": identity.email, "message": "Token is valid"})

    @router.get("/auth/me", response_model=None)
    async def auth_me(principal: SessionDep, services: ServicesDep) -> Response:
        """The caller's profile, unwrapped."""
        user = await services.accounts.get_user(principal.user_id)
        return JSONResponse(translate.profile_user(user, default_name=True))


def _meta_routes(router: APIRouter, opts: PluginMindOptions) -> None:
    @router.get("/health", response_model=None)
    async def health(ctx: ContextDep) -> Response:
        """Liveness with the number of analyses queued or running."""
        report = await ctx.health.report()
        if not report.ready:
            return JSONResponse({"status": "degraded", "active_jobs": None})
        counts = await JobLeases(ctx.unit_of_work).count_by_status()
        active = counts.get("pending", 0) + counts.get("running", 0)
        return JSONResponse({"status": "ok", "active_jobs": active})

    @router.get("/live", response_model=None)
    async def live() -> Response:
        """Always live while the process answers."""
        return JSONResponse({"status": "live"})

    @router.get("/ready", response_model=None)
    async def ready(request: Request, ctx: ContextDep) -> Response:
        """Database and configuration checks; 503 with the checks when not ready."""
        report = await ctx.health.report()
        database = next((c for c in report.checks if c.name == "database"), None)
        problems = _workflow(ctx).configuration_problems()
        checks = {
            "db": "ok" if database is None or database.ok else "unavailable",
            "env": "ok" if not problems else "; ".join(problems),
            "google_sign_in": "configured" if ctx.google.configured else "not_configured",
            "rate_limits": "degraded" if ctx.limiter.degraded else "ok",
        }
        if report.ready and not problems:
            return JSONResponse({"status": "ready", "checks": checks})
        body = envelope(
            request,
            "SERVICE_UNAVAILABLE",
            "Service not ready",
            detail={"status": "not_ready", "checks": checks},
        )
        return JSONResponse(body, status_code=503)

    @router.get("/services", response_model=None)
    async def services_registry(ctx: ContextDep) -> Response:
        """The analysis services, their live health, the analysis types and endpoints."""
        workflow = _workflow(ctx)
        return JSONResponse(translate.services_body(workflow.registry(), await workflow.health()))

    @router.get("/services/health", response_model=None)
    async def services_health(ctx: ContextDep) -> Response:
        """The live health of every analysis service."""
        health = await _workflow(ctx).health()
        return JSONResponse(translate.services_health_body(health, utcnow()))

    @router.get("/version", response_model=None)
    async def version() -> Response:
        """Name, version and the git commit this build came from."""
        return JSONResponse(
            {"name": opts.name, "version": opts.version, "git_sha": opts.git_sha or "-"}
        )


def _workflow(ctx: AppContext) -> AnalysisWorkflow:
    return AnalysisWorkflow(ctx.analysis)


async def _analysis_job(services: Services, principal: Principal, job_id: str) -> JobRead:
    job = await services.jobs.get(principal.user_id, job_id)
    if job.type != ANALYSIS_JOB:
        raise JobNotFound()  # other faces' jobs are not PluginMind's to show
    return job


__all__ = ["PluginMindOptions", "build_router"]
