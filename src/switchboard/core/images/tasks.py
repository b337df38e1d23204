"""The `image_generation` job: generate with the user's provider, keep the images as media.

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
from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.registry import JobType
from switchboard.core.media.ports import MediaStorage
from switchboard.core.media.schemas import MediaRead
from switchboard.core.media.service import DEFAULT_MAX_BYTES, MediaService
from switchboard.core.media.sniff import EXTENSIONS
from switchboard.core.providers.known import known_provider
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.core.providers.service import ProviderService, ProviderSetup
from switchboard.core.usage.recorder import UsageRecorder

IMAGE_GENERATION = "image_generation"
MAX_PROMPT = 4000


class ImageGenerationParams(BaseModel):
    """Parameters of an `image_generation` job (PocketLLM's request body, plus `provider`).

    Size, quality and style are checked against the model's row in the pricing table, and
    missing ones are filled with the model's defaults, so a stored job says exactly what
    it will generate and what it will cost.
    """

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    model: str = Field(min_length=1, max_length=100)
    size: str | None = Field(default=None, max_length=32, validate_default=True)
    quality: str | None = Field(default=None, max_length=32, validate_default=True)
    style: str | None = Field(default=None, max_length=32)
    n: int = Field(default=1, ge=1, le=MAX_IMAGES)
    provider: str = Field(default="openai", min_length=1, max_length=64)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if image_model(value) is None:
            raise PydanticCustomError("invalid_model", InvalidImageModel().message)
        return value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        known = known_provider(value)
        if known is None:
            raise PydanticCustomError("unknown_provider", "Unknown provider")
        return known.name

    @field_validator("size", "quality")
    @classmethod
    def _offered(cls, value: str | None, info: ValidationInfo) -> str | None:
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
        model = image_model(info.data.get("model") or "")
        if model is None or value is None:
            return value
        try:
            return ImageService().validate(model.name, style=value).style
        except InvalidImageOption as exc:
            raise PydanticCustomError("invalid_image_option", exc.message) from None


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
    ) -> None:
        self._providers = providers
        self._storage = storage
        self._fetcher = fetcher
        self._recorder = recorder
        self._max_bytes = max_bytes
        self._images = ImageService()

    async def __call__(self, ctx: JobContext, params: ImageGenerationParams) -> dict[str, Any]:
        """Generate, store and describe the job's images; the result the job keeps."""
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
        provider = self._providers.factory.provider(endpoint)
        generated = await generate_images(provider, spec, params.prompt, ctx.progress)
        payloads = await fetch_images(self._fetcher, generated, endpoint, ctx.progress)
        async with ctx.units() as uow:
            # One unit of work: a redelivery sees all of the images or none.
            saved = await store_images(self._media(uow.session), ctx.owner_id, payloads, ctx.job_id)
        self._record_usage(ctx, endpoint, spec, len(saved))
        await ctx.progress(1.0, "Images generated")
        return _result(spec, endpoint.provider, saved)

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
) -> list[JobType]:
    """The job types of the images domain, for the composition root to register."""
    handler = ImageGenerationHandler(
        providers, media_storage, fetcher, recorder=recorder, max_bytes=max_bytes
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
