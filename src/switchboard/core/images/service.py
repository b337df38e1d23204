"""Image requests checked against the pricing table, and what they will cost.

Messages follow PocketLLM's original backend ("Invalid model", "Invalid size/quality
combination for this model"); every error names the field at fault.
"""

from __future__ import annotations

from switchboard.core.images.errors import InvalidImageModel, InvalidImageOption
from switchboard.core.images.pricing import (
    DEFAULT_SIZE,
    IMAGE_MODELS,
    ImageModel,
    image_model,
    pricing_keys,
)
from switchboard.core.images.schemas import (
    CostBreakdown,
    CostEstimate,
    ImageModelRead,
    ImageSpec,
)
from switchboard.core.workflows.ports import ENGINE_PROVIDER

MAX_IMAGES = 4
COMBINATION = "Invalid size/quality combination for this model"


class ImageService:
    """Image models, request validation and cost estimates (no storage, no session)."""

    def models(self) -> list[ImageModelRead]:
        """Every priced image model with its sizes, qualities and prices."""
        return [_read(model) for model in IMAGE_MODELS.values()]

    def model(self, name: str | None) -> ImageModel:
        """The model called `name`; `InvalidImageModel` when it is not in the table."""
        found = image_model(name) if name else None
        if found is None:
            raise InvalidImageModel
        return found

    def validate(
        self,
        model: str | None,
        size: str | None = None,
        quality: str | None = None,
        n: int | None = None,
        style: str | None = None,
    ) -> ImageSpec:
        """The request with defaults filled in (standard, 1024x1024, n=1) and its unit price."""
        found = self.model(model)
        size = size or found.default_size
        quality = quality or found.default_quality
        count = 1 if n is None else n
        if size not in found.sizes:
            raise InvalidImageOption(COMBINATION, param="size")
        if quality not in found.qualities:
            raise InvalidImageOption(COMBINATION, param="quality")
        unit = found.unit_price(size, quality)
        if unit is None:
            raise InvalidImageOption(COMBINATION, param="size")
        if not 1 <= count <= MAX_IMAGES:
            raise InvalidImageOption(f"n must be between 1 and {MAX_IMAGES}", param="n")
        return ImageSpec(
            model=found.name,
            provider=found.provider,
            size=size,
            quality=quality,
            n=count,
            style=_style(found, style),
            unit_cost=unit,
            max_per_request=found.max_per_request,
        )

    def on_engine(self, provider: str | None) -> bool:
        """Whether a request for `provider` runs on the operator's workflow engine, where
        models are checkpoints the engine lists (not this table) and images are free."""
        return (provider or "").strip().lower() == ENGINE_PROVIDER

    def estimate_cost(
        self,
        model: str | None,
        size: str | None = None,
        quality: str | None = None,
        n: int | None = None,
        *,
        provider: str | None = None,
    ) -> CostEstimate:
        """What the request would cost: `{estimatedCost, currency, breakdown}` in USD
        (nothing on the workflow engine, whose options are checked when the job runs)."""
        if self.on_engine(provider):
            return CostEstimate(
                estimated_cost=0.0,
                breakdown=CostBreakdown(
                    model=model or "",
                    size=size or DEFAULT_SIZE,
                    quality=quality or "standard",
                    quantity=1 if n is None else n,
                    unit_cost=0.0,
                ),
            )
        spec = self.validate(model, size, quality, n)
        return CostEstimate(
            estimated_cost=spec.total_cost,
            breakdown=CostBreakdown(
                model=spec.model,
                size=spec.size,
                quality=spec.quality,
                quantity=spec.n,
                unit_cost=spec.unit_cost,
            ),
        )


def _style(model: ImageModel, style: str | None) -> str | None:
    if not style:
        return None
    if not model.styles:
        # The original accepted and ignored a style for every model; sending one to a
        # model without styles would only make the upstream refuse the whole request.
        return None
    if style not in model.styles:
        raise InvalidImageOption(f"style must be one of: {', '.join(model.styles)}", param="style")
    return style


def _read(model: ImageModel) -> ImageModelRead:
    return ImageModelRead(
        name=model.name,
        display_name=model.display_name,
        provider=model.provider,
        sizes=list(model.sizes),
        quality=list(model.qualities),
        pricing=pricing_keys(model),
        styles=list(model.styles),
        default_size=model.default_size,
        default_quality=model.default_quality,
    )
