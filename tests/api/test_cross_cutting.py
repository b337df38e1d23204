"""Request ids, metrics, health and the rate limiter, through the real app."""

from __future__ import annotations

import pytest

from switchboard.adapters.ratelimit import LimitsRateLimiter
from tests.fixtures.app import Harness
from tests.fixtures.network import refusing_port


class TestRequestId:
    async def test_generated_when_missing(self, harness: Harness) -> None:
        response = await harness.client.get("/healthz")
        assert len(response.headers["x-request-id"]) == 32

    async def test_safe_incoming_id_is_echoed(self, harness: Harness) -> None:
        response = await harness.client.get("/healthz", headers={"X-Request-ID": "abc-123.x:y"})
        assert response.headers["x-request-id"] == "abc-123.x:y"

    @pytest.mark.parametrize("bad", ["a b", "x" * 200, "<script>", "a\tb"])
    async def test_unsafe_incoming_id_is_replaced(self, harness: Harness, bad: str) -> None:
        response = await harness.client.get("/healthz", headers={"X-Request-ID": bad})
        assert response.headers["x-request-id"] != bad
        assert len(response.headers["x-request-id"]) == 32


class TestMetricsAndHealth:
    async def test_metrics_count_requests_by_route(self, harness: Harness) -> None:
        await harness.client.get("/healthz")
        text = (await harness.client.get("/metrics")).text
        assert "switchboard_http_requests_total" in text
        assert 'route="/healthz"' in text

    async def test_health_reports_database(self, harness: Harness) -> None:
        body = (await harness.client.get("/healthz")).json()
        assert body["status"] == "ok"
        assert body["checks"]["database"]["ok"] is True

    async def test_health_names_operator_providers_without_keys(self, harness_factory) -> None:  # type: ignore[no-untyped-def]
        harness = await harness_factory(openai_api_key="sk-secret-value-1234567890")
        response = await harness.client.get("/healthz")
        assert response.json()["providers"] == ["openai"]
        assert "sk-secret" not in response.text


class TestRateLimiter:
    async def test_memory_window(self) -> None:
        limiter = LimitsRateLimiter()
        first = await limiter.hit("2/minute", "k")
        second = await limiter.hit("2/minute", "k")
        third = await limiter.hit("2/minute", "k")
        assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
        assert third.retry_after >= 1
        assert (await limiter.hit("2/minute", "other")).allowed

    async def test_unreachable_redis_falls_back_to_memory_and_reports_degraded(self) -> None:
        with refusing_port() as port:
            limiter = LimitsRateLimiter(f"redis://127.0.0.1:{port}/0")
            decisions = [await limiter.hit("1/minute", "k") for _ in range(2)]
        assert [d.allowed for d in decisions] == [True, False]
        assert limiter.degraded
