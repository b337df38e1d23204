"""Image models and their per-image list prices in US dollars.

The table follows PocketLLM's original backend: `dall-e-3`, `dall-e-2` and
`midjourney`, with prices keyed `"<quality>-<size>"`. PocketLLM's API document shows the same
prices keyed `"<size>_<quality>"` (and bare `"<size>"` for single-quality models);
`pricing_keys` gives both spellings so a client written against either finds its key.
`gpt-image-1` is added at OpenAI's list prices. DALL-E prices equal OpenAI's list prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DEFAULT_SIZE = "1024x1024"


@dataclass(frozen=True, slots=True)
class ImageModel:
    """One image model: what it offers and what each image costs."""

    name: str
    display_name: str
    provider: str
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    # Dollars per image by "<quality>-<size>".
    prices: Mapping[str, float]
    default_quality: str = "standard"
    default_size: str = DEFAULT_SIZE
    # The most images one upstream call may ask for (dall-e-3 accepts only n=1).
    max_per_request: int = 10
    styles: tuple[str, ...] = field(default_factory=tuple)

    def unit_price(self, size: str, quality: str) -> float | None:
        """The price of one image of `size` and `quality`, or None when not offered."""
        return self.prices.get(price_key(quality, size))


def price_key(quality: str, size: str) -> str:
    """The original backend's key: `"hd-1024x1024"`."""
    return f"{quality}-{size}"


def _prices(table: dict[str, dict[str, float]]) -> Mapping[str, float]:
    """`{quality: {size: price}}` flattened to `{"<quality>-<size>": price}`."""
    return MappingProxyType(
        {price_key(q, s): price for q, by_size in table.items() for s, price in by_size.items()}
    )


_WIDE = ("1792x1024", "1024x1792")
_GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536")

IMAGE_MODELS: Mapping[str, ImageModel] = MappingProxyType(
    {
        m.name: m
        for m in (
            ImageModel(
                name="dall-e-3",
                display_name="DALL-E 3",
                provider="openai",
                sizes=("1024x1024", *_WIDE),
                qualities=("standard", "hd"),
                prices=_prices(
                    {
                        "standard": {"1024x1024": 0.04, _WIDE[0]: 0.08, _WIDE[1]: 0.08},
                        "hd": {"1024x1024": 0.08, _WIDE[0]: 0.12, _WIDE[1]: 0.12},
                    }
                ),
                max_per_request=1,
                styles=("vivid", "natural"),
            ),
            ImageModel(
                name="dall-e-2",
                display_name="DALL-E 2",
                provider="openai",
                sizes=("256x256", "512x512", "1024x1024"),
                qualities=("standard",),
                prices=_prices(
                    {"standard": {"256x256": 0.016, "512x512": 0.018, "1024x1024": 0.02}}
                ),
            ),
            ImageModel(
                name="midjourney",
                display_name="Midjourney",
                provider="midjourney",
                sizes=("1024x1024", *_WIDE),
                qualities=("standard", "high"),
                prices=_prices(
                    {
                        "standard": {"1024x1024": 0.025, _WIDE[0]: 0.035, _WIDE[1]: 0.035},
                        "high": {"1024x1024": 0.05, _WIDE[0]: 0.07, _WIDE[1]: 0.07},
                    }
                ),
                max_per_request=1,
            ),
            ImageModel(
                name="gpt-image-1",
                display_name="GPT Image 1",
                provider="openai",
                sizes=_GPT_IMAGE_SIZES,
                qualities=("low", "medium", "high"),
                prices=_prices(
                    {
                        "low": dict(zip(_GPT_IMAGE_SIZES, (0.011, 0.016, 0.016), strict=True)),
                        "medium": dict(zip(_GPT_IMAGE_SIZES, (0.042, 0.063, 0.063), strict=True)),
                        "high": dict(zip(_GPT_IMAGE_SIZES, (0.167, 0.25, 0.25), strict=True)),
                    }
                ),
                default_quality="medium",
            ),
        )
    }
)


def image_model(name: str) -> ImageModel | None:
    """The model called `name` (exact, as the original matched it), or None."""
    return IMAGE_MODELS.get(name)


def pricing_keys(model: ImageModel) -> dict[str, float]:
    """Every price under both spellings: `"hd-1024x1024"` and the API document's `"1024x1024_hd"`.

    For a single-quality model the document shows bare sizes (`"256x256"`), so those are
    added too.
    """
    keys: dict[str, float] = {}
    single = len(model.qualities) == 1
    for quality in model.qualities:
        for size in model.sizes:
            price = model.unit_price(size, quality)
            if price is None:
                continue
            keys[price_key(quality, size)] = price
            keys[size if single else f"{size}_{quality}"] = price
    return keys
