"""The `image_generation` job: generate with the user's provider, keep the images as media.

The provider is an OpenAI-compatible image API, or (`provider: "comfyui"`) the operator's
workflow engine, which runs a text-to-image workflow (`core.workflows`).
Delivery is at least once, so the handler is idempotent: every image of a job is saved
in one unit of work, and a redelivered job whose images are already stored returns them
without calling the provider again. Upstream failures propagate as their core kinds;
the runner retries the retryable ones (rate limited, unavailable, timeout).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import Invalid
from switchboard.core.images.errors import InvalidImageModel, InvalidImageOption
from switchboard.core.images.generation import (
    fetch_images,
    generate_images,
    image_usage,
    store_images,
)
from switchboard.core.images.ports import ImageFetcher
from switchboard.core.images.pricing import image_model
from switchboard.core.images.schemas import ImageSpec, cost_of
from switchboard.core.images.service import MAX_IMAGES, ImageService
from switchboard.core.jobs.context import JobContext, ProgressReporter
from switchboard.core.jobs.registry import JobType
from switchboard.core.media.ports import MediaStorage
from switchboard.core.media.schemas import MediaRead
from switchboard.core.media.service import DEFAULT_MAX_BYTES, MediaService
from switchboard.core.media.sniff import EXTENSIONS
from switchboard.core.providers.capabilities import images_of
from switchboard.core.providers.known import known_provider
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.core.providers.service import ProviderService, ProviderSetup
from switchboard.core.usage.recorder import UsageRecorder
from switchboard.core.workflows import templates
from switchboard.core.workflows.errors import WorkflowEngineNotConfigured
from switchboard.core.workflows.ports import ENGINE_PROVIDER, WorkflowEngine
from switchboard.core.workflows.service import WorkflowService

IMAGE_GENERATION = "image_generation"
# How usage records name the operator's workflow engine.
ENGINE_ENDPOINT = ProviderEndpoint(kind=ENGINE_PROVIDER, provider=ENGINE_PROVIDER, trusted=True)
MAX_PROMPT = 4000


class ImageGenerationParams(BaseModel):
    """Parameters of an `image_generation` job (PocketLLM's request body, plus `provider`).

    On an OpenAI-compatible image API, size, quality and style are checked against the
    model's row in the pricing table, and missing ones are filled with the model's
    defaults, so a stored job says exactly what it will generate and what it will cost.
    On the operator's workflow engine (`provider: "comfyui"`) the model is a checkpoint
    (the engine's first when omitted) and images cost nothing; checkpoint, sampler and
    scheduler are checked against what the engine offers when the job runs.
    """

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    # Before the fields below: what they accept depends on it.
    provider: str = Field(default="openai", min_length=1, max_length=64)
    model: str | None = Field(default=None, min_length=1, max_length=100, validate_default=True)
    size: str | None = Field(default=None, max_length=32, validate_default=True)
    quality: str | None = Field(default=None, max_length=32, validate_default=True)
    style: str | None = Field(default=None, max_length=32)
    n: int = Field(default=1, ge=1, le=MAX_IMAGES)
    # Options of the workflow engine only.
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    steps: int | None = Field(default=None, ge=1, le=templates.MAX_STEPS)
    cfg: float | None = Field(default=None, ge=0, le=templates.MAX_CFG)
    sampler: str | None = Field(default=None, min_length=1, max_length=100)
    scheduler: str | None = Field(default=None, min_length=1, max_length=100)
    seed: int | None = Field(default=None, ge=0, le=templates.MAX_SEED)

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value.strip().lower() == ENGINE_PROVIDER:
            return ENGINE_PROVIDER
        known = known_provider(value)
        if known is None:
            raise PydanticCustomError("unknown_provider", "Unknown provider")
        return known.name

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str | None, info: ValidationInfo) -> str | None:
        if _on_engine(info):
            return value  # a checkpoint: the engine's list is read when the job runs
        if value is None:
            raise PydanticCustomError("missing", "Field required")
        if image_model(value) is None:
            raise PydanticCustomError("invalid_model", InvalidImageModel().message)
        return value

    @field_validator("size", "quality")
    @classmethod
    def _offered(cls, value: str | None, info: ValidationInfo) -> str | None:
        if _on_engine(info):
            return _engine_size(value) if info.field_name == "size" else None
        model = image_model(info.data.get("model") or "")
        if model is None:
            return value  # the model's own error is already reported
        size = value if info.field_name == "size" else info.data.get("size")
        quality = value if info.field_name == "quality" else None
        try:
            spec = ImageService().validate(model.name, size, quality)
        except InvalidImageOption as exc:
            raise PydanticCustomError("invalid_image_option", exc.message) from None
        return spec.size if info.field_name == "size" else spec.quality

    @field_validator("style")
    @classmethod
    def _style_offered(cls, value: str | None, info: ValidationInfo) -> str | None:
        if _on_engine(info):
            return None  # a checkpoint has no styles; ignored as for models without any
        model = image_model(info.data.get("model") or "")
        if model is None or value is None:
            return value
        try:
            return ImageService().validate(model.name, style=value).style
        except InvalidImageOption as exc:
            raise PydanticCustomError("invalid_image_option", exc.message) from None

    @field_validator("negative_prompt", "steps", "cfg", "sampler", "scheduler", "seed")
    @classmethod
    def _engine_only(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and not _on_engine(info):
            raise PydanticCustomError(
                "engine_only", f"{info.field_name} applies to provider {ENGINE_PROVIDER} only"
            )
        return value


def _on_engine(info: ValidationInfo) -> bool:
    """Whether the job runs on the operator's workflow engine."""
    return info.data.get("provider") == ENGINE_PROVIDER


def _engine_size(value: str | None) -> str:
    try:
        width, height = templates.parse_size(value)
    except Invalid as exc:
        raise PydanticCustomError("invalid_image_option", exc.message) from None
    return f"{width}x{height}"


class ImageGenerationHandler:
    """Runs one `image_generation` job; see the module docstring."""

    def __init__(
        self,
        providers: ProviderSetup,
        storage: MediaStorage,
        fetcher: ImageFetcher,
        *,
        recorder: UsageRecorder | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        engine: WorkflowEngine | None = None,
    ) -> None:
        self._providers = providers
        self._storage = storage
        self._fetcher = fetcher
        self._recorder = recorder
        self._max_bytes = max_bytes
        self._engine = engine
        self._images = ImageService()

    async def __call__(self, ctx: JobContext, params: ImageGenerationParams) -> dict[str, Any]:
        """Generate, store and describe the job's images; the result the job keeps."""
        if params.provider == ENGINE_PROVIDER:
            return await self._on_engine(ctx, params)
        spec = self._images.validate(
            params.model, params.size, params.quality, params.n, params.style
        )
        await ctx.progress(0.1, "Starting image generation")
        async with ctx.units() as uow:
            stored = await self._media(uow.session).for_job(ctx.owner_id, ctx.job_id)
            endpoint = None
            if not stored:
                providers = ProviderService(uow.session, self._providers)
                endpoint = await providers.endpoint_for(ctx.owner_id, params.provider)
        if stored:
            # Redelivered after the images were committed: never pay for them twice.
            await ctx.progress(1.0, "Images already generated")
            return _result(spec, params.provider, _in_order(stored))
        assert endpoint is not None
        provider = images_of(self._providers.factory, endpoint)
        generated = await generate_images(provider, spec, params.prompt, ctx.progress)
        payloads = await fetch_images(self._fetcher, generated, endpoint, ctx.progress)
        async with ctx.units() as uow:
            # One unit of work: a redelivery sees all of the images or none.
            saved = await store_images(self._media(uow.session), ctx.owner_id, payloads, ctx.job_id)
        self._record_usage(ctx, endpoint, spec, len(saved))
        await ctx.progress(1.0, "Images generated")
        return _result(spec, endpoint.provider, saved)

    async def _on_engine(self, ctx: JobContext, params: ImageGenerationParams) -> dict[str, Any]:
        """The job on the operator's workflow engine: the same steps, at no cost."""
        await ctx.progress(0.1, "Starting image generation")
        async with ctx.units() as uow:
            stored = await self._media(uow.session).for_job(ctx.owner_id, ctx.job_id)
        if stored:
            await ctx.progress(1.0, "Images already generated")
            first = stored[0].attributes
            return _result(
                _engine_spec(params, first.get("model"), first.get("size")),
                ENGINE_PROVIDER,
                _in_order(stored),
            )
        if self._engine is None:
            raise WorkflowEngineNotConfigured
        workflows = WorkflowService(self._engine)
        request = await _engine_request(workflows, params)
        run = await workflows.generate(request, _within(ctx.progress, 0.1, 0.9))
        kept = {"model": request.checkpoint, "size": request.size, "seed": request.seed}
        async with ctx.units() as uow:
            saved = await workflows.keep(
                self._media(uow.session), ctx.owner_id, run, ctx.job_id, attributes=kept
            )
        spec = _engine_spec(params, request.checkpoint, request.size)
        self._record_usage(ctx, ENGINE_ENDPOINT, spec, len(saved))
        await ctx.progress(1.0, "Images generated")
        return _result(spec, ENGINE_PROVIDER, saved)

    def _media(self, session: AsyncSession) -> MediaService:
        return MediaService(session, self._storage, max_bytes=self._max_bytes)

    def _record_usage(
        self, ctx: JobContext, endpoint: ProviderEndpoint, spec: ImageSpec, count: int
    ) -> None:
        if self._recorder is None or count == 0:
            return
        self._recorder.record(image_usage(ctx.owner_id, "jobs", endpoint, spec, count))


def image_job_types(
    providers: ProviderSetup,
    media_storage: MediaStorage,
    fetcher: ImageFetcher,
    *,
    recorder: UsageRecorder | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    engine: WorkflowEngine | None = None,
) -> list[JobType]:
    """The job types of the images domain, for the composition root to register;
    `engine` is the operator's workflow engine (None when none is configured)."""
    handler = ImageGenerationHandler(
        providers, media_storage, fetcher, recorder=recorder, max_bytes=max_bytes, engine=engine
    )
    return [
        JobType(
            name=IMAGE_GENERATION,
            params=ImageGenerationParams,
            handler=handler,
            max_attempts=3,
            timeout_seconds=300.0,
        )
    ]


async def _engine_request(
    workflows: WorkflowService, params: ImageGenerationParams
) -> templates.TextToImage:
    """The job's text-to-image request, checked against what the engine offers now."""
    return await workflows.text_to_image(
        params.prompt,
        checkpoint=params.model,
        size=params.size,
        negative_prompt=params.negative_prompt,
        steps=params.steps,
        cfg=params.cfg,
        sampler=params.sampler,
        scheduler=params.scheduler,
        seed=params.seed,
        batch=params.n,
    )


def _engine_spec(params: ImageGenerationParams, model: Any, size: Any) -> ImageSpec:
    """What an engine job generated, priced at nothing (checkpoints are not priced)."""
    return ImageSpec(
        model=str(model or params.model or ""),
        provider=ENGINE_PROVIDER,
        size=str(size or params.size or templates.DEFAULT_SIZE),
        quality="standard",
        n=params.n,
        style=None,
        unit_cost=0.0,
        max_per_request=params.n,
    )


def _within(progress: ProgressReporter, start: float, end: float) -> ProgressReporter:
    """`progress` for a step that runs from `start` to `end` of the job."""

    async def report(fraction: float, message: str | None) -> None:
        await progress(start + (end - start) * fraction, message)

    return report


def _in_order(stored: list[MediaRead]) -> list[MediaRead]:
    return sorted(stored, key=lambda m: int(m.attributes.get("index") or 0))


def _result(spec: ImageSpec, provider: str, images: list[MediaRead]) -> dict[str, Any]:
    revised = [m.attributes.get("revised_prompt") for m in images]
    return {
        "images": [
            {
                "media_id": m.id,
                "mime_type": m.mime_type,
                "size_bytes": m.size_bytes,
                "extension": EXTENSIONS.get(m.mime_type),
                "revised_prompt": prompt,
            }
            for m, prompt in zip(images, revised, strict=True)
        ],
        "revised_prompt": next((p for p in revised if p), None),
        "model": spec.model,
        "provider": provider,
        "size": spec.size,
        "quality": spec.quality,
        "n": len(images),
        "requested_n": spec.n,
        "cost": cost_of(spec.unit_cost, len(images)),
        # The runner stores this as the job's actual_cost.
        "actual_cost": cost_of(spec.unit_cost, len(images)),
        "currency": "USD",
    }
