"""Analysis domain: quota counting (atomic, monthly), query logs, the workflow."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from switchboard.core.accounts.principal import Principal
from switchboard.core.analysis.errors import (
    FAILURE_AUTH,
    FAILURE_INTERNAL,
    FAILURE_MESSAGES,
    FAILURE_RATE_LIMITED,
    FAILURE_TIMEOUT,
    FAILURE_UNAVAILABLE,
    QueryLimitExceeded,
    analysis_failure,
)
from switchboard.core.analysis.schemas import AnalysisInput, AnalysisType
from switchboard.core.analysis.service import (
    AnalysisService,
    AnalysisWorkflow,
    default_analysis_model,
    month_period,
    seconds_until_next_period,
)
from switchboard.core.errors import (
    NotFound,
    PermissionDenied,
    RateLimited,
    SwitchboardError,
    Timeout,
    UpstreamRejected,
    UpstreamUnavailable,
)
from tests.fixtures.app import Harness

SOURCE = "tests"


def test_default_model_prefers_the_operator_provider() -> None:
    assert default_analysis_model([], "echo/echo") == "echo/echo"
    assert default_analysis_model(["ollama", "openai"], "echo/echo") == "openai/gpt-4o-mini"
    assert default_analysis_model(["anthropic"], "echo/echo").startswith("anthropic/")


def test_periods() -> None:
    assert month_period(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "2026-12"
    assert seconds_until_next_period(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == 60


async def _analysis(harness: Harness, work: Callable[[AnalysisService], Awaitable[Any]]) -> Any:
    return await harness.run(lambda services: work(services.analysis))


async def test_quota_is_atomic_under_concurrency(harness_factory) -> None:  # type: ignore[no-untyped-def]
    harness = await harness_factory(default_monthly_quota=5)
    user = await harness.user("q@example.com")

    async def one() -> bool:
        try:
            await _analysis(harness, lambda a: a.consume(user.id))
        except QueryLimitExceeded:
            return False
        return True

    results = await asyncio.gather(*(one() for _ in range(12)))
    assert sum(results) == 5
    quota = await _analysis(harness, lambda a: a.quota(user.id))
    assert (quota.queries_used, quota.remaining_queries, quota.can_make_query) == (5, 0, False)


async def test_quota_resets_with_the_month(harness_factory) -> None:  # type: ignore[no-untyped-def]
    harness = await harness_factory(default_monthly_quota=1)
    user = await harness.user("m@example.com")
    await _analysis(harness, lambda a: a.consume(user.id))
    with pytest.raises(QueryLimitExceeded) as refused:
        await _analysis(harness, lambda a: a.consume(user.id))
    assert refused.value.message == "Query limit exceeded. Used 1/1 queries."
    harness.ctx.analysis.clock = lambda: datetime(2099, 1, 1, tzinfo=UTC)
    quota = await _analysis(harness, lambda a: a.consume(user.id))
    assert (quota.period, quota.queries_used) == ("2099-01", 1)


async def test_logs_are_private_unless_admin(harness: Harness) -> None:
    alice = await harness.user("alice@example.com")
    data = AnalysisInput(user_input="hi", analysis_type=AnalysisType.CHAT)
    await _analysis(harness, lambda a: a.open_log(alice.id, data, source=SOURCE))
    bob = Principal(user_id=(await harness.user("bob@example.com")).id, email="bob@example.com")
    with pytest.raises(PermissionDenied):
        await _analysis(harness, lambda a: a.query_logs(bob, user=alice.id))
    assert await _analysis(harness, lambda a: a.query_logs(bob)) == []
    admin = Principal(user_id=bob.user_id, email=bob.email, is_admin=True)
    logs = await _analysis(harness, lambda a: a.query_logs(admin, user="alice@example.com"))
    assert [log.user_input for log in logs] == ["hi"]


async def test_workflow_runs_both_steps_and_logs(harness: Harness) -> None:
    user = await harness.user("w@example.com")
    workflow = AnalysisWorkflow(harness.ctx.analysis)
    outcome = await workflow.analyze(
        user.id, AnalysisInput(user_input="rank my site", analysis_type="seo"), source=SOURCE
    )
    assert outcome.optimized_prompt == "Echo: rank my site"
    assert outcome.analysis_result == "Echo: Echo: rank my site"
    assert outcome.analyzer.name == "seo_analyzer"
    logs = await _analysis(
        harness, lambda a: a.query_logs(Principal(user_id=user.id, email=user.email))
    )
    assert logs[0].success and logs[0].response_time_ms is not None
    assert logs[0].source == SOURCE


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RateLimited("slow down, key sk-123", retry_after=7), FAILURE_RATE_LIMITED),
        (Timeout("upstream.internal:8443 timed out"), FAILURE_TIMEOUT),
        (UpstreamRejected("bad key sk-123", upstream_status=401), FAILURE_AUTH),
        (UpstreamRejected("bad parameter", upstream_status=400), FAILURE_INTERNAL),
        (UpstreamUnavailable("10.0.0.5 refused"), FAILURE_UNAVAILABLE),
        (NotFound("no such model"), FAILURE_INTERNAL),
    ],
)
def test_provider_failures_keep_their_kind_and_lose_their_words(
    error: SwitchboardError, code: str
) -> None:
    failure = analysis_failure(error)
    assert (failure.kind, failure.code) == (error.kind, code)
    assert failure.message == FAILURE_MESSAGES[code]
    assert (failure.retry_after, failure.upstream_status) == (
        error.retry_after,
        error.upstream_status,
    )


async def test_async_analyses_are_logged_for_their_source(harness: Harness) -> None:
    user = await harness.user("j@example.com")
    data = AnalysisInput(user_input="later", analysis_type=AnalysisType.DOCUMENT)
    job = await harness.run(
        lambda services: services.analysis.submit(user.id, data, services.jobs, source=SOURCE)
    )
    assert job.source == SOURCE
    log = await _analysis(harness, lambda a: a.log_for_job(user.id, job.id))
    assert (log.source, log.job_id) == (SOURCE, job.id)
