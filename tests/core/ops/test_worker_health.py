"""Health with Redis and no worker: `/healthz` and PluginMind's `/ready` say `workers:
none` with the oldest pending job's wait (degraded, never down); a live heartbeat makes
them `ok` with the number of workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
from structlog.testing import capture_logs

from switchboard.adapters.queue.presence import RedisWorkerPresence
from switchboard.core.jobs.schemas import JobCreate
from switchboard.kit.clock import utcnow
from tests.fixtures.app import Harness
from tests.fixtures.database import TEST_REDIS_URL
from tests.fixtures.jobs import MODULE
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.skipif(TEST_REDIS_URL is None, reason="needs SWITCHBOARD_TEST_REDIS_URL")


@pytest.fixture
async def api_only(harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    """An API process with Redis that runs no jobs itself (as behind `switchboard worker`)."""
    return await harness_factory(jobs_in_process="off", extra_task_modules=[MODULE])


async def test_no_worker_is_degraded_with_the_oldest_wait(api_only: Harness) -> None:
    user = await api_only.user("a@example.com")
    await api_only.run(
        lambda s: s.jobs.create(user.id, JobCreate(type="test.echo", params={"value": "x"}))
    )
    response = await api_only.client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and "workers" in body["down"]
    assert body["workers"]["status"] == "none" and body["workers"]["alive"] == 0
    assert body["workers"]["oldest_pending_seconds"] >= 0
    assert body["checks"]["workers"]["error"].startswith("none alive; oldest pending job waited")
    ready = await api_only.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["checks"]["workers"].startswith("none alive; oldest pending job")


async def test_a_live_heartbeat_is_ok_with_the_count(api_only: Harness) -> None:
    assert TEST_REDIS_URL is not None
    presence = RedisWorkerPresence(TEST_REDIS_URL, prefix=api_only.settings.resolved_redis_prefix)
    try:
        await presence.beat("elsewhere:7", utcnow(), 30.0)
        body = (await api_only.client.get("/healthz")).json()
        ready = (await api_only.client.get("/ready")).json()
    finally:
        await presence.leave("elsewhere:7")
        await presence.aclose()
    assert body["status"] == "ok" and body["checks"]["workers"]["ok"] is True
    assert body["workers"] == {"status": "ok", "alive": 1, "oldest_pending_seconds": None}
    assert ready["checks"]["workers"] == "ok"


async def test_a_server_running_jobs_itself_counts_as_a_worker(harness: Harness) -> None:
    body = (await harness.client.get("/healthz")).json()
    assert body["workers"] == {"status": "ok", "alive": 1, "oldest_pending_seconds": None}


async def test_the_api_warns_by_itself_and_says_when_a_worker_is_back(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    with capture_logs() as logs:
        app = await harness_factory(
            jobs_in_process="off", extra_task_modules=[MODULE], worker_heartbeat_seconds=0.05
        )
        user = await app.user("a@example.com")
        await app.run(
            lambda s: s.jobs.create(user.id, JobCreate(type="test.echo", params={"value": "x"}))
        )

        def events(name: str) -> list[MutableMapping[str, Any]]:
            return [entry for entry in logs if entry["event"] == name]

        await eventually(lambda: events("jobs_waiting_without_workers"), what="the warning")
        assert TEST_REDIS_URL is not None
        presence = RedisWorkerPresence(TEST_REDIS_URL, prefix=app.settings.resolved_redis_prefix)
        try:
            await presence.beat("elsewhere:7", utcnow(), 30.0)
            await eventually(lambda: events("workers_back"), what="the worker to be seen")
        finally:
            await presence.leave("elsewhere:7")
            await presence.aclose()
    [warning] = events("jobs_waiting_without_workers")
    assert warning["log_level"] == "warning" and warning["oldest_pending_s"] >= 0
