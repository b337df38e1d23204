"""`/v1/jobs/image-generation*`: image models, cost estimates and image jobs.

Mounted before `routes.jobs`, whose `/v1/jobs/{job_id}` would otherwise take
`/v1/jobs/image-generation/models`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from switchboard.api.context import ServicesDep
from switchboard.core.errors import Invalid
from switchboard.core.images.tasks import IMAGE_GENERATION
from switchboard.core.jobs.schemas import JobCreate
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.auth import PrincipalDep
from switchboard.faces.pocketllm.envelope import ok
from switchboard.faces.pocketllm.routes.common import SOURCE, admit, media_base, v1_router

_IMAGE_FIELDS = ("prompt", "model", "size", "quality", "style", "n", "provider")

router = v1_router(admit("images"))


@router.post("/jobs/image-generation", status_code=201, response_model=None)
async def create_image_job(
    body: schemas.ImageJobCreate,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Queue an image generation; its cost is estimated from the pricing table."""
    params = _image_params(body)
    if not params.get("prompt"):
        raise Invalid("Field required", param="prompt")
    # On the workflow engine the model (a checkpoint) may be left to the engine's default.
    provider = params.get("provider")
    if not params.get("model") and not services.images.on_engine(provider):
        raise Invalid("Field required", param="model")
    estimate = services.images.estimate_cost(
        params.get("model"),
        params.get("size"),
        params.get("quality"),
        params.get("n"),
        provider=provider,
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


@router.get("/jobs/image-generation/models", response_model=None)
async def image_models(request: Request, services: ServicesDep) -> Response:
    """Image models with their sizes, qualities and prices."""
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
    body: schemas.EstimateCost, request: Request, services: ServicesDep
) -> Response:
    """What an image request would cost, in USD."""
    size = body.size
    if size is None and body.dimensions is not None:
        size = f"{body.dimensions[0]}x{body.dimensions[1]}"
    estimate = services.images.estimate_cost(body.model, size, body.quality, body.n)
    return ok(request, translate.cost_estimate(estimate))


def _image_params(body: schemas.ImageJobCreate) -> dict[str, Any]:
    """The job's parameters from either form (the document's, or `input_data`)."""
    sent = body.model_dump(exclude_unset=True, include=set(_IMAGE_FIELDS))
    if body.input_data is not None:
        sent |= body.input_data.model_dump(exclude_unset=True)
    return {k: v for k, v in sent.items() if v is not None}
