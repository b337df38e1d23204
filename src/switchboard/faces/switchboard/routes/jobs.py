"""Background jobs of any registered type (API keys need the `jobs` scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.api.inputs import Offset
from switchboard.core.jobs.schemas import JobRequest, JobStatus
from switchboard.faces.switchboard.routes import face_router, json

router = face_router("jobs")


@router.post("/jobs", status_code=201)
async def create_job(body: JobRequest, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Queue background work of a public job type."""
    job = await services.jobs.request(principal.user_id, body, source="native")
    return json(job.model_dump(mode="json"), 201)


@router.get("/jobs")
async def list_jobs(
    principal: PrincipalDep,
    services: ServicesDep,
    status: JobStatus | None = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Offset = 0,
) -> Response:
    """The caller's jobs, newest first."""
    page = await services.jobs.list_jobs(
        principal.user_id, status=status, type=type, limit=limit, offset=offset
    )
    return json({"items": [j.model_dump(mode="json") for j in page.items], "total": page.total})


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """One of the caller's jobs."""
    return json((await services.jobs.get(principal.user_id, job_id)).model_dump(mode="json"))


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Cancel a pending job, or stop a running one (on whichever process runs it)."""
    job = await services.jobs.cancel(principal.user_id, job_id)
    return json(job.model_dump(mode="json"))


@router.post("/jobs/{job_id}/retry")
async def retry_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Run a failed job again."""
    job = await services.jobs.retry(principal.user_id, job_id)
    return json(job.model_dump(mode="json"))


@router.delete("/jobs/{job_id}", status_code=204)
async def delete_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Delete a finished job."""
    await services.jobs.delete(principal.user_id, job_id)
    return Response(status_code=204)
