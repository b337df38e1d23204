"""Analyses: `/process`, the legacy `/analyze`, and async analyses as durable jobs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from switchboard.api.context import ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.openapi import UPSTREAM, raises
from switchboard.api.responses import JSONResponse
from switchboard.core.accounts.principal import Principal
from switchboard.core.analysis.service import ANALYSIS_JOB
from switchboard.core.container import Services
from switchboard.core.jobs.errors import JobNotFound
from switchboard.core.jobs.schemas import JobRead
from switchboard.faces.pluginmind import schemas, translate
from switchboard.faces.pluginmind.auth import ANALYSES, JOBS, SOURCE, SessionDep
from switchboard.faces.pluginmind.errors import render_error

router = APIRouter(tags=["pluginmind"], route_class=face_route_class(render_error))


@router.post(
    "/process", response_model=None, dependencies=[ANALYSES], openapi_extra=raises(UPSTREAM)
)
async def process(
    body: schemas.AnalysisRequest, principal: SessionDep, services: ServicesDep
) -> Response:
    """Run the two-step analysis workflow for one of the analysis types."""
    outcome = await services.analysis_workflow.analyze(
        principal.user_id, translate.analysis_input(body), source=SOURCE
    )
    return JSONResponse(translate.process_body(outcome))


@router.post(
    "/analyze", response_model=None, dependencies=[ANALYSES], openapi_extra=raises(UPSTREAM)
)
async def analyze(
    body: schemas.LegacyAnalyzeRequest, principal: SessionDep, services: ServicesDep
) -> Response:
    """The legacy crypto analysis."""
    outcome = await services.analysis_workflow.analyze(
        principal.user_id, translate.legacy_input(body), source=SOURCE
    )
    return JSONResponse(translate.legacy_body(outcome))


@router.post("/analyze-async", response_model=None, dependencies=[ANALYSES])
async def analyze_async(
    body: schemas.AnalysisRequest, principal: SessionDep, services: ServicesDep
) -> Response:
    """Start an analysis as a durable job (queued once this request commits)."""
    job = await services.analysis.submit(
        principal.user_id, translate.analysis_input(body), services.jobs, source=SOURCE
    )
    return JSONResponse(translate.async_created(job))


@router.get("/analyze-async/{job_id}", response_model=None, dependencies=[JOBS])
async def analyze_async_status(
    job_id: str, principal: SessionDep, services: ServicesDep
) -> Response:
    """An async analysis's state and, once done, its results."""
    job = await analysis_job(services, principal, job_id)
    return JSONResponse(translate.async_status(job))


async def analysis_job(services: Services, principal: Principal, job_id: str) -> JobRead:
    """One of the caller's analysis jobs; other faces' jobs are not PluginMind's to show."""
    job = await services.jobs.get(principal.user_id, job_id)
    if job.type != ANALYSIS_JOB:
        raise JobNotFound()
    return job
