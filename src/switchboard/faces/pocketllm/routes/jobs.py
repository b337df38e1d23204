"""`/v1/jobs` and `/v1/jobs/{id}*` (on the jobs engine) and `/v1/media/{id}` (their images)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from switchboard.api.context import ServicesDep
from switchboard.api.inputs import Offset
from switchboard.api.openapi import IMAGE_FILE, raises
from switchboard.core.errors import ErrorKind, Invalid
from switchboard.core.jobs.errors import JobStateConflict
from switchboard.core.jobs.schemas import JobStatus
from switchboard.faces.pocketllm import translate
from switchboard.faces.pocketllm.auth import PrincipalDep
from switchboard.faces.pocketllm.envelope import ok
from switchboard.faces.pocketllm.routes.common import admit, media_base, v1_router

router = v1_router(admit("jobs"))


@router.get("/jobs", response_model=None)
async def list_jobs(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    status: Annotated[
        str | None, Query(max_length=32, json_schema_extra={"enum": list(translate.CORE_STATUS)})
    ] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Offset = 0,
) -> Response:
    """The caller's jobs, newest first."""
    core_status = None
    if status is not None:
        core_status = translate.CORE_STATUS.get(status)
        if core_status is None:
            raise Invalid(
                "must be one of: pending, processing, completed, failed, cancelled",
                param="status",
            )
    page = await services.jobs.list_jobs(
        principal.user_id, status=core_status, type=type, limit=limit, offset=offset
    )
    base = media_base(request)
    return ok(request, [translate.job(j, base) for j in page.items])


@router.get("/jobs/{job_id}", response_model=None)
async def get_job(
    job_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """One job."""
    job = await services.jobs.get(principal.user_id, job_id)
    return ok(request, translate.job(job, media_base(request)))


@router.delete("/jobs/{job_id}", response_model=None, openapi_extra=raises(ErrorKind.CONFLICT))
async def delete_job(
    job_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Cancel a pending or running job (it reads `cancelled` at once); delete a finished one."""
    job = await services.jobs.get(principal.user_id, job_id)
    if job.status.finished:
        await services.jobs.delete(principal.user_id, job.id)
    else:
        await services.jobs.cancel(principal.user_id, job.id)
    return ok(request, {"message": "Job cancelled/deleted successfully"})


@router.post("/jobs/{job_id}/retry", response_model=None, openapi_extra=raises(ErrorKind.INVALID))
async def retry_job(
    job_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Run a failed job again; any other job is a bad request (400), as in the original."""
    try:
        job = await services.jobs.retry(principal.user_id, job_id)
    except JobStateConflict as exc:
        raise Invalid(exc.message, code=exc.code) from None
    data = {"id": job.id, "status": JobStatus.PENDING.value, "message": "Job queued for retry"}
    return ok(request, data)


@router.get("/media/{media_id}", response_model=None, responses=IMAGE_FILE)
async def download_media(media_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """An image of the caller's jobs, with its forced raster type (never inline HTML/SVG)."""
    download = await services.media.download(principal.user_id, media_id)
    return Response(content=download.body, headers=download.headers)
