"""WorkerWatch against a real Redis: heartbeats lapse by the injected clock, status names
the oldest waiting job when no worker is alive, and the API's watch warns once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from switchboard.adapters.queue.presence import RedisWorkerPresence
from switchboard.core.jobs.workers import BEATS_TO_LAPSE, WorkerStatus, WorkerWatch
from switchboard.kit.ids import new_id
from tests.core.jobs.conftest import JobsEnv
from tests.fixtures.clock import ShiftedClock
from tests.fixtures.database import available_redis_url

REDIS_URL = available_redis_url()
pytestmark = pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")
INTERVAL = 10.0

WatchFactory = Callable[[str], WorkerWatch]


@pytest.fixture
async def watches(jobs_env: JobsEnv) -> AsyncIterator[WatchFactory]:
    """Watches ("processes") sharing one fresh prefix, the jobs database and clock."""
    assert REDIS_URL is not None
    prefix = f"switchboard:test:{new_id()}"
    made: list[WorkerWatch] = []

    def watch(worker_id: str) -> WorkerWatch:
        presence = RedisWorkerPresence(REDIS_URL or "", prefix=prefix)
        made.append(
            WorkerWatch(
                presence,
                jobs_env.leases,
                interval_seconds=INTERVAL,
                worker_id=worker_id,
                clock=jobs_env.clock.now,
            )
        )
        return made[-1]

    yield watch
    for each in made:
        await each.aclose()
    async with Redis.from_url(REDIS_URL) as redis:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)


def levels(logs: list[MutableMapping[str, Any]]) -> list[tuple[str, str]]:
    return [(e["log_level"], e["event"]) for e in logs if e["log_level"] != "debug"]


async def test_no_worker_and_no_job(watches: WatchFactory) -> None:
    status = await watches("api:1").status()
    assert status == WorkerStatus(0) and status.problem == "none alive; no job waiting"


async def test_no_worker_reports_how_long_the_oldest_job_waited(
    watches: WatchFactory, jobs_env: JobsEnv, clock: ShiftedClock
) -> None:
    owner = await jobs_env.user()
    await jobs_env.create(owner, "test.echo", {"value": "waiting"})
    await jobs_env.create(owner, "test.echo", {"value": "later"}, run_at=clock.now())
    clock.advance(42)
    status = await watches("api:1").status()
    assert status.alive == 0 and status.oldest_pending_seconds is not None
    assert 42 <= status.oldest_pending_seconds < 60
    assert status.problem is not None
    assert status.problem.startswith("none alive; oldest pending job waited 4")


async def test_a_worker_beats_at_start_lapses_without_beats_and_leaves_at_stop(
    watches: WatchFactory, clock: ShiftedClock
) -> None:
    api, worker = watches("api:1"), watches("worker:2")
    await worker.start(consuming=True)
    assert await api.status() == WorkerStatus(1)
    clock.advance(INTERVAL * BEATS_TO_LAPSE - 1)
    assert (await api.status()).alive == 1
    clock.advance(2)
    assert (await api.status()).alive == 0
    await worker.beat()
    assert (await api.status()).alive == 1
    await worker.aclose()
    assert (await api.status()).alive == 0


async def test_the_watch_warns_once_while_jobs_wait_and_says_when_a_worker_is_back(
    watches: WatchFactory, jobs_env: JobsEnv
) -> None:
    api, worker = watches("api:1"), watches("worker:2")
    with capture_logs() as logs:
        await api.poll()  # nothing waits: nothing to say
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "stuck"})
        for _ in range(3):
            await api.poll()
        await worker.beat()
        for _ in range(2):
            await api.poll()
    assert levels(logs) == [
        ("warning", "jobs_waiting_without_workers"),
        ("info", "workers_back"),
    ]
    assert logs[0]["oldest_pending_s"] >= 0 and "switchboard worker" in logs[0]["reason"]
    assert job.id  # the job that waited


async def test_a_failing_heartbeat_warns_once(jobs_env: JobsEnv) -> None:
    class Down:
        async def beat(self, *args: object) -> None:
            raise ConnectionError("worker heartbeats unreachable")

    watch = WorkerWatch(Down(), jobs_env.leases, interval_seconds=INTERVAL)  # type: ignore[arg-type]
    with capture_logs() as logs:
        await watch.beat()
        await watch.beat()
    assert levels(logs) == [("warning", "worker_heartbeat_failed")]
