"""Quotas hold on every path, and caps bound one user's work.

- The native jobs API creates public job types only, from `params` alone: analyses (which
  count a monthly quota) and image jobs (which carry a computed cost) are created through
  their own routes, and server-computed fields are never taken from a client.
- An analysis job that reached the engine without being counted is counted when it runs.
- Queued jobs and schedules per user are capped (429 with Retry-After; 409), and the
  native face has a rate limit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from switchboard.core.analysis.errors import QueryLimitExceeded
from switchboard.core.analysis.schemas import AnalysisInput, AnalysisType
from switchboard.core.analysis.service import ANALYSIS_JOB, AnalysisWorkflow
from switchboard.core.jobs.schemas import JobCreate
from switchboard.kit.clock import utcnow
from tests.fixtures.app import Harness
from tests.fixtures.jobs import MODULE

BASE = "/switchboard/v1"
ANALYSIS = {"user_input": "rank my site", "analysis_type": "seo"}
IMAGE = {"prompt": "a cat", "model": "dall-e-3"}


def later() -> str:
    return (utcnow() + timedelta(hours=1)).isoformat()


async def used_queries(harness: Harness, headers: dict[str, str]) -> int:
    usage: dict[str, Any] = (await harness.client.get("/me/usage", headers=headers)).json()
    return int(usage["queries_used"])


class TestQuotasOnEveryPath:
    async def test_an_analysis_cannot_be_queued_through_the_native_api(
        self, harness_factory: Any
    ) -> None:
        harness = await harness_factory(default_monthly_quota=1)
        user = await harness.user("free@example.com")
        assert (
            await harness.client.post("/analyze", json=ANALYSIS, headers=user.token_headers)
        ).status_code == 200
        assert (
            await harness.client.post("/analyze", json=ANALYSIS, headers=user.token_headers)
        ).status_code == 429
        response = await harness.client.post(
            f"{BASE}/jobs", json={"type": ANALYSIS_JOB, "params": ANALYSIS}, headers=user.headers
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "job_type_not_public"
        assert await used_queries(harness, user.token_headers) == 1
        listed = await harness.client.get(f"{BASE}/jobs", headers=user.headers)
        assert listed.json()["total"] == 0

    @pytest.mark.parametrize(
        ("type_", "params"), [(ANALYSIS_JOB, ANALYSIS), ("image_generation", IMAGE)]
    )
    async def test_private_types_cannot_be_scheduled(
        self, harness: Harness, type_: str, params: dict[str, Any]
    ) -> None:
        user = await harness.user("s@example.com")
        response = await harness.client.post(
            f"{BASE}/schedules",
            json={"type": type_, "params": params, "cron": "*/5 * * * *"},
            headers=user.headers,
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "job_type_not_public"

    @pytest.mark.parametrize(
        "field", [{"estimated_cost": 0.0}, {"max_attempts": 20}, {"source": "pocketllm"}]
    )
    async def test_server_computed_fields_are_refused(
        self, harness_factory: Any, field: dict[str, Any]
    ) -> None:
        harness = await harness_factory(extra_task_modules=[MODULE])
        user = await harness.user("f@example.com")
        body = {"type": "test.echo", "params": {"value": "x"}, **field}
        response = await harness.client.post(f"{BASE}/jobs", json=body, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"

    async def test_an_uncounted_analysis_job_is_counted_when_it_runs(
        self, harness_factory: Any
    ) -> None:
        harness = await harness_factory(default_monthly_quota=1)
        user = await harness.user("uncounted@example.com")
        data = AnalysisInput(user_input="hi", analysis_type=AnalysisType.CHAT)
        # A job created beside `submit` (no quota, no log), as a bypass would.
        jobs = [
            await harness.run(
                lambda s: s.jobs.create(
                    user.id,
                    JobCreate(
                        type=ANALYSIS_JOB,
                        params=data.model_dump(mode="json"),
                        run_at=utcnow() + timedelta(days=1),
                    ),
                )
            )
            for _ in range(2)
        ]
        workflow = AnalysisWorkflow(harness.ctx.analysis)
        await workflow.run_job(user.id, jobs[0].id, data)
        with pytest.raises(QueryLimitExceeded):
            await workflow.run_job(user.id, jobs[1].id, data)
        assert await used_queries(harness, user.token_headers) == 1


class TestCaps:
    async def test_queued_jobs_per_user(self, harness_factory: Any) -> None:
        harness = await harness_factory(extra_task_modules=[MODULE], max_queued_jobs_per_user=2)
        user, other = await harness.user("q@example.com"), await harness.user("o@example.com")
        body = {"type": "test.echo", "params": {"value": "x"}, "run_at": later()}
        created = [
            (await harness.client.post(f"{BASE}/jobs", json=body, headers=user.headers)).json()
            for _ in range(2)
        ]
        refused = await harness.client.post(f"{BASE}/jobs", json=body, headers=user.headers)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_queued_jobs"
        assert int(refused.headers["Retry-After"]) >= 1
        # The cap is per user, and a finished (here cancelled) job frees its place.
        assert (
            await harness.client.post(f"{BASE}/jobs", json=body, headers=other.headers)
        ).status_code == 201
        await harness.client.post(f"{BASE}/jobs/{created[0]['id']}/cancel", headers=user.headers)
        assert (
            await harness.client.post(f"{BASE}/jobs", json=body, headers=user.headers)
        ).status_code == 201

    async def test_zero_turns_the_queued_cap_off(self, harness_factory: Any) -> None:
        harness = await harness_factory(extra_task_modules=[MODULE], max_queued_jobs_per_user=0)
        user = await harness.user("z@example.com")
        body = {"type": "test.echo", "params": {"value": "x"}, "run_at": later()}
        statuses = [
            (await harness.client.post(f"{BASE}/jobs", json=body, headers=user.headers)).status_code
            for _ in range(5)
        ]
        assert statuses == [201] * 5

    async def test_schedules_per_user(self, harness_factory: Any) -> None:
        harness = await harness_factory(extra_task_modules=[MODULE], max_schedules_per_user=2)
        user = await harness.user("c@example.com")
        body = {"type": "test.echo", "params": {"value": "x"}, "cron": "0 * * * *"}
        statuses = [
            (
                await harness.client.post(f"{BASE}/schedules", json=body, headers=user.headers)
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [201, 201, 409]
        refused = await harness.client.post(f"{BASE}/schedules", json=body, headers=user.headers)
        assert refused.json()["error"]["code"] == "too_many_schedules"

    async def test_the_native_face_is_rate_limited(self, harness_factory: Any) -> None:
        harness = await harness_factory(switchboard_rate_limit="3/minute")
        user = await harness.user("r@example.com")
        statuses = [
            (await harness.client.get(f"{BASE}/usage", headers=user.headers)).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        refused = await harness.client.get(f"{BASE}/usage", headers=user.headers)
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert int(refused.headers["Retry-After"]) >= 1
