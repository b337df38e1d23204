"""The caller's analysis jobs."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from switchboard.api.context import ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.openapi import raises
from switchboard.api.responses import JSONResponse
from switchboard.core.analysis.service import ANALYSIS_JOB
from switchboard.core.errors import ErrorKind
from switchboard.faces.pluginmind import translate
from switchboard.faces.pluginmind.auth import JOBS, SessionDep
from switchboard.faces.pluginmind.errors import render_error
from switchboard.faces.pluginmind.routes.analysis import analysis_job

MAX_JOBS_LISTED = 100

router = APIRouter(
    tags=["pluginmind"], route_class=face_route_class(render_error), dependencies=[JOBS]
)


@router.get("/jobs", response_model=None)
async def list_jobs(principal: SessionDep, services: ServicesDep) -> Response:
    """The caller's analysis jobs, newest first."""
    page = await services.jobs.list_jobs(
        principal.user_id, type=ANALYSIS_JOB, limit=MAX_JOBS_LISTED
    )
    return JSONResponse(translate.jobs_body(list(page.items)))


@router.delete("/jobs/{job_id}", response_model=None, openapi_extra=raises(ErrorKind.CONFLICT))
async def delete_job(job_id: uuid.UUID, principal: SessionDep, services: ServicesDep) -> Response:
    """Delete one of the caller's finished analysis jobs."""
    job = await analysis_job(services, principal, str(job_id))
    await services.jobs.delete(principal.user_id, job.id)
    return JSONResponse({"message": f"Job {job.id} deleted successfully"})
