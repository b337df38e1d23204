"""UsageService: a user's own totals, overall and per model."""

from __future__ import annotations

from datetime import timedelta

import pytest

from switchboard.core.container import Services
from switchboard.core.usage.recorder import UsageEntry
from switchboard.core.usage.repository import UsageRepository
from switchboard.kit.clock import utcnow
from tests.fixtures.app import Harness


def _entry(
    user_id: str,
    provider: str,
    model: str,
    prompt: int,
    completion: int,
    cost: float,
    **kwargs: object,
) -> UsageEntry:
    return UsageEntry(
        user_id=user_id,
        source="test",
        provider=provider,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=cost,
        **kwargs,  # type: ignore[arg-type]
    )


async def _store(harness: Harness, *entries: UsageEntry) -> None:
    async def work(services: Services) -> None:
        await UsageRepository(services.uow.session).insert_many(entries)

    await harness.run(work)


@pytest.fixture
async def alice(harness: Harness) -> str:
    return (await harness.user("alice@example.com")).id


@pytest.fixture
async def bob(harness: Harness) -> str:
    return (await harness.user("bob@example.com")).id


class TestSummary:
    async def test_no_usage(self, harness: Harness, alice: str) -> None:
        summary = await harness.run(lambda s: s.usage.summary(alice))

        assert (summary.calls, summary.prompt_tokens, summary.completion_tokens) == (0, 0, 0)
        assert summary.cost_usd == 0.0 and summary.by_model == []

    async def test_totals_and_per_model(self, harness: Harness, alice: str) -> None:
        await _store(
            harness,
            _entry(alice, "openai", "gpt-4o", 100, 10, 0.001),
            _entry(alice, "openai", "gpt-4o", 200, 20, 0.002),
            _entry(alice, "echo", "echo", 5, 6, 0.0),
        )

        summary = await harness.run(lambda s: s.usage.summary(alice))

        assert summary.calls == 3
        assert summary.prompt_tokens == 305 and summary.completion_tokens == 36
        assert summary.cost_usd == pytest.approx(0.003)
        assert [(m.provider, m.model, m.calls) for m in summary.by_model] == [
            ("echo", "echo", 1),
            ("openai", "gpt-4o", 2),
        ]
        gpt = summary.by_model[1]
        assert (gpt.prompt_tokens, gpt.completion_tokens) == (300, 30)
        assert gpt.cost_usd == pytest.approx(0.003)

    async def test_only_the_owners_rows(self, harness: Harness, alice: str, bob: str) -> None:
        await _store(
            harness,
            _entry(alice, "openai", "gpt-4o", 100, 10, 0.5),
            _entry(bob, "anthropic", "claude-opus-4-0", 7, 8, 0.25),
        )

        alices = await harness.run(lambda s: s.usage.summary(alice))
        bobs = await harness.run(lambda s: s.usage.summary(bob))

        assert [(m.provider, m.calls) for m in alices.by_model] == [("openai", 1)]
        assert alices.cost_usd == pytest.approx(0.5)
        assert [(m.provider, m.calls) for m in bobs.by_model] == [("anthropic", 1)]
        assert (bobs.prompt_tokens, bobs.completion_tokens) == (7, 8)

    async def test_user_without_rows_sees_nothing_of_others(
        self, harness: Harness, alice: str, bob: str
    ) -> None:
        await _store(harness, _entry(alice, "openai", "gpt-4o", 100, 10, 0.5))

        summary = await harness.run(lambda s: s.usage.summary(bob))

        assert summary.calls == 0 and summary.by_model == []

    async def test_since(self, harness: Harness, alice: str) -> None:
        now = utcnow()
        await _store(
            harness,
            _entry(alice, "echo", "echo", 1, 1, 0.0, created_at=now - timedelta(days=2)),
            _entry(alice, "echo", "echo", 2, 2, 0.0, created_at=now - timedelta(minutes=1)),
        )

        summary = await harness.run(
            lambda s: s.usage.summary(alice, since=now - timedelta(hours=1))
        )

        assert summary.calls == 1 and summary.prompt_tokens == 2

    async def test_non_uuid_owner_sees_nothing(self, harness: Harness, alice: str) -> None:
        await _store(harness, _entry(alice, "echo", "echo", 1, 1, 0.0))

        summary = await harness.run(lambda s: s.usage.summary("' OR '1'='1"))

        assert summary.calls == 0
