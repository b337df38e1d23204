"""Reading usage: always one user's own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.usage.repository import UsageRepository
from switchboard.core.usage.schemas import ModelUsage, UsageSummary


class UsageService:
    """Usage totals of one user."""

    def __init__(self, session: AsyncSession) -> None:
        self._repo = UsageRepository(session)

    async def summary(self, owner_id: str, since: datetime | None = None) -> UsageSummary:
        """The user's calls, tokens and cost, overall and per model."""
        rows = [
            ModelUsage(
                provider=provider,
                model=model,
                calls=calls,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost_usd=round(cost, 8),
            )
            for provider, model, calls, prompt, completion, cost in await self._repo.totals(
                owner_id, since
            )
        ]
        return UsageSummary(
            calls=sum(r.calls for r in rows),
            prompt_tokens=sum(r.prompt_tokens for r in rows),
            completion_tokens=sum(r.completion_tokens for r in rows),
            cost_usd=round(sum(r.cost_usd for r in rows), 8),
            by_model=rows,
        )
