"""Who gets which monthly limit: the tier's (SWITCHBOARD_DEFAULT_MONTHLY_QUOTA for free),
the operator's per-user override, and the owner, unlimited unless given a quota."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from switchboard.core.analysis.errors import QueryLimitExceeded
from switchboard.core.analysis.schemas import QuotaRead
from switchboard.core.errors import Invalid
from switchboard.models.user import UNLIMITED_QUOTA
from tests.fixtures.app import Harness

Factory = Callable[..., Awaitable[Harness]]


async def consume(harness: Harness, user_id: str, times: int) -> QuotaRead:
    quota: QuotaRead | None = None
    for _ in range(times):
        quota = await harness.run(lambda s: s.analysis.consume(user_id))
    assert quota is not None
    return quota


async def accounts(harness: Harness, call: Callable[[Any], Awaitable[Any]]) -> Any:
    return await harness.run(lambda s: call(s.accounts))


async def test_free_tier_limit_is_the_default_monthly_quota(harness_factory: Factory) -> None:
    harness = await harness_factory(default_monthly_quota=3)
    user = await harness.user("free@example.com")
    await consume(harness, user.id, 3)
    with pytest.raises(QueryLimitExceeded):
        await consume(harness, user.id, 1)


async def test_owner_is_unlimited_unless_given_a_quota(harness_factory: Factory) -> None:
    harness = await harness_factory(default_monthly_quota=1)
    owner = await accounts(harness, lambda a: a.ensure_owner("boss@example.com"))
    quota = await consume(harness, owner.id, 5)
    assert (quota.queries_used, quota.queries_limit) == (5, None)
    assert (quota.remaining_queries, quota.can_make_query) == (None, True)

    await accounts(harness, lambda a: a.set_monthly_quota(owner.id, 6))
    await consume(harness, owner.id, 1)
    with pytest.raises(QueryLimitExceeded):
        await consume(harness, owner.id, 1)


async def test_override_unlimited_and_back_to_the_tier(harness_factory: Factory) -> None:
    harness = await harness_factory(default_monthly_quota=1)
    user = await harness.user("u@example.com")
    await accounts(harness, lambda a: a.set_monthly_quota(user.id, UNLIMITED_QUOTA))
    assert (await consume(harness, user.id, 3)).queries_limit is None

    await accounts(harness, lambda a: a.set_monthly_quota(user.id, None))
    quota = await harness.run(lambda s: s.analysis.quota(user.id))
    assert (quota.queries_used, quota.queries_limit, quota.can_make_query) == (3, 1, False)


async def test_tiers_have_their_limits(harness_factory: Factory) -> None:
    harness = await harness_factory(default_monthly_quota=1, analysis_pro_query_limit=4)
    user = await harness.user("pro@example.com")
    await accounts(harness, lambda a: a.set_subscription_tier(user.id, "pro"))
    quota = await harness.run(lambda s: s.analysis.quota(user.id))
    assert (quota.subscription_tier, quota.queries_limit) == ("pro", 4)


async def test_nonsense_is_refused(harness: Harness) -> None:
    user = await harness.user("n@example.com")
    with pytest.raises(Invalid):
        await accounts(harness, lambda a: a.set_monthly_quota(user.id, -5))
    with pytest.raises(Invalid) as refused:
        await accounts(harness, lambda a: a.set_subscription_tier(user.id, "gold"))
    assert "free, pro, premium" in refused.value.message
