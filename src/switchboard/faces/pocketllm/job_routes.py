"""`/v1/jobs*` (image generation on the jobs engine) and `/v1/media/{id}` (its images)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.core.errors import Invalid
from switchboard.core.images.tasks import IMAGE_GENERATION
from switchboard.core.jobs.schemas import JobCreate, JobStatus
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.deps import SOURCE, admit, media_base
from switchboard.faces.pocketllm.envelope import ok

_IMAGE_FIELDS = ("prompt", "model", "size", "quality", "style", "n", "provider")


def register(router: APIRouter) -> None:
    """Add the job and media routes."""
    _register_image_routes(router)

    @router.get("/jobs", response_model=None)
    async def list_jobs(
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
        status: Annotated[str | None, Query(max_length=32)] = None,
        type: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """The caller's jobs, newest first."""
        await admit(request, services, principal, "jobs")
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

    @router.post("/jobs/image-generation", status_code=201, response_model=None)
    async def create_image_job(
        body: schemas.ImageJobCreate,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Response:
        """Queue an image generation; its cost is estimated from the pricing table."""
        await admit(request, services, principal, "images")
        params = _image_params(body)
        if not params.get("prompt"):
            raise Invalid("Field required", param="prompt")
        if not params.get("model"):
            raise Invalid("Field required", param="model")
        estimate = services.images.estimate_cost(
            params["model"], params.get("size"), params.get("quality"), params.get("n")
        )
        job = await services.jobs.create(
            principal.user_id,
            JobCreate(
                type=IMAGE_GENERATION,
                params=params,
                estimated_cost=estimate.estimated_cost,
                source=SOURCE,
            ),
        )
        return ok(request, translate.job(job, media_base(request)), 201)


def _register_image_routes(router: APIRouter) -> None:
    """Add the image model, estimate and media routes."""

    @router.get("/jobs/image-generation/models", response_model=None)
    async def image_models(
        request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Image models with their sizes, qualities and prices."""
        await admit(request, services, principal, "images")
        models = [
            {
                "name": m.name,
                "provider": m.provider,
                "sizes": m.sizes,
                "quality": m.quality,
                "pricing": m.pricing,
                "display_name": m.display_name,
                "styles": m.styles,
            }
            for m in services.images.models()
        ]
        return ok(request, models)

    @router.post("/jobs/image-generation/estimate-cost", response_model=None)
    async def estimate_cost(
        body: schemas.EstimateCost,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Response:
        """What an image request would cost, in USD."""
        await admit(request, services, principal, "images")
        size = body.size
        if size is None and body.dimensions is not None:
            size = f"{body.dimensions[0]}x{body.dimensions[1]}"
        estimate = services.images.estimate_cost(body.model, size, body.quality, body.n)
        return ok(request, estimate.model_dump(by_alias=True))

    @router.get("/jobs/{job_id}", response_model=None)
    async def get_job(
        job_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """One job."""
        await admit(request, services, principal, "jobs")
        job = await services.jobs.get(principal.user_id, job_id)
        return ok(request, translate.job(job, media_base(request)))

    @router.delete("/jobs/{job_id}", response_model=None)
    async def delete_job(
        job_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Cancel a pending or running job; delete a finished one."""
        await admit(request, services, principal, "jobs")
        job = await services.jobs.get(principal.user_id, job_id)
        if job.status.finished:
            await services.jobs.delete(principal.user_id, job.id)
        else:
            await services.jobs.cancel(principal.user_id, job.id)
        return ok(request, {"message": "Job cancelled/deleted successfully"})

    @router.post("/jobs/{job_id}/retry", response_model=None)
    async def retry_job(
        job_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Run a failed job again."""
        await admit(request, services, principal, "jobs")
        job = await services.jobs.retry(principal.user_id, job_id)
        data = {"id": job.id, "status": JobStatus.PENDING.value, "message": "Job queued for retry"}
        return ok(request, data)

    @router.get("/media/{media_id}", response_model=None)
    async def download_media(
        media_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """An image of the caller's jobs, with its forced raster type (never inline HTML/SVG)."""
        await admit(request, services, principal, "jobs")
        download = await services.media.download(principal.user_id, media_id)
        return Response(content=download.body, headers=download.headers)


def _image_params(body: schemas.ImageJobCreate) -> dict[str, Any]:
    """The job's parameters from either form (the document's, or `input_data`)."""
    sent = body.model_dump(exclude_unset=True, include=set(_IMAGE_FIELDS))
    if body.input_data is not None:
        sent |= body.input_data.model_dump(exclude_unset=True)
    return {k: v for k, v in sent.items() if v is not None}
