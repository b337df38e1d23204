"""What the analysis domain takes in and gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_USER_INPUT = 5000


class AnalysisType(StrEnum):
    """The kinds of analysis; each has its own analyzer prompt and model."""

    DOCUMENT = "document"
    CHAT = "chat"
    SEO = "seo"
    CRYPTO = "crypto"
    CUSTOM = "custom"


class AnalysisInput(BaseModel):
    """One analysis request: the user's text and the kind of analysis."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    user_input: str = Field(min_length=1, max_length=MAX_USER_INPUT)
    analysis_type: AnalysisType = AnalysisType.CRYPTO


@dataclass(frozen=True, slots=True)
class ServiceUsed:
    """One step of the workflow: its role name and the model that ran it."""

    name: str
    provider: str
    model: str

    def as_dict(self) -> dict[str, str]:
        """A JSON-ready form (part of a stored job result)."""
        return {"name": self.name, "provider": self.provider, "model": self.model}


@dataclass(frozen=True, slots=True)
class AnalysisOutcome:
    """The result of a completed analysis."""

    analysis_type: AnalysisType
    optimized_prompt: str
    analysis_result: str
    system_prompt: str
    prompt_optimizer: ServiceUsed
    analyzer: ServiceUsed
    response_time_ms: float
    query_log_id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what an async analysis job stores as its result)."""
        return {
            "analysis_type": self.analysis_type.value,
            "optimized_prompt": self.optimized_prompt,
            "analysis_result": self.analysis_result,
            "system_prompt": self.system_prompt,
            "services_used": {
                "prompt_optimizer": self.prompt_optimizer.as_dict(),
                "analyzer": self.analyzer.as_dict(),
            },
            "response_time_ms": self.response_time_ms,
            "query_log_id": self.query_log_id,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True, slots=True)
class Subscriber:
    """What decides a user's monthly limit: tier, ownership and the operator's override
    (`users.monthly_quota`: None for the tier's limit, `UNLIMITED_QUOTA` for none)."""

    tier: str
    is_owner: bool
    monthly_quota: int | None


@dataclass(frozen=True, slots=True)
class QuotaRead:
    """A user's query quota for the current month; `queries_limit` None means unlimited."""

    period: str
    queries_used: int
    queries_limit: int | None
    subscription_tier: str

    @property
    def remaining_queries(self) -> int | None:
        """Queries left this month (never negative); None when unlimited."""
        if self.queries_limit is None:
            return None
        return max(0, self.queries_limit - self.queries_used)

    @property
    def can_make_query(self) -> bool:
        """True while the quota is not used up."""
        return self.queries_limit is None or self.queries_used < self.queries_limit


class QueryLogRead(BaseModel):
    """One logged analysis request."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    source: str
    analysis_type: str | None
    user_input: str
    success: bool
    response_time_ms: float | None
    error_message: str | None
    job_id: str | None
    created_at: datetime
