"""Usage summaries."""

from __future__ import annotations

from pydantic import BaseModel


class ModelUsage(BaseModel):
    """Totals for one model."""

    provider: str
    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class UsageSummary(BaseModel):
    """A user's totals, overall and per model."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    by_model: list[ModelUsage]
