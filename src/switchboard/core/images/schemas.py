"""What the images domain hands out."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """A validated image request with every default filled in, and its unit price."""

    model: str
    provider: str
    size: str
    quality: str
    n: int
    style: str | None
    unit_cost: float
    max_per_request: int

    @property
    def total_cost(self) -> float:
        """Unit price times the number of images."""
        return cost_of(self.unit_cost, self.n)


def cost_of(unit_cost: float, count: int) -> float:
    """`unit_cost * count` without float noise (0.08 * 3 is 0.24, not 0.24000000000000002)."""
    return round(unit_cost * count, 6)


class CostBreakdown(BaseModel):
    """How an estimate was reached."""

    model_config = ConfigDict(frozen=True)

    model: str
    size: str
    quality: str
    quantity: int
    unit_cost: float


class CostEstimate(BaseModel):
    """What an image request would cost, and how that was reached."""

    model_config = ConfigDict(frozen=True)

    estimated_cost: float
    currency: str = "USD"
    breakdown: CostBreakdown


class ImageModelRead(BaseModel):
    """One image model as the model list shows it."""

    model_config = ConfigDict(frozen=True)

    name: str
    display_name: str
    provider: str
    sizes: list[str]
    quality: list[str]
    # Both key spellings: "hd-1024x1024" (original backend) and "1024x1024_hd" (its API document).
    pricing: dict[str, float]
    styles: list[str]
    default_size: str
    default_quality: str
