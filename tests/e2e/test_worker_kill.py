"""A worker killed mid-job loses no job: another `switchboard worker` completes it.

Two real worker processes consume one Redis stream (a fresh one per test) and share the
test database. The test job types come from `tests.fixtures.jobs`, loaded by the workers
through SWITCHBOARD_EXTRA_TASK_MODULES with the repository root on PYTHONPATH. Leases and
redelivery are short so that the test takes seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.bootstrap import build_context
from switchboard.core.container import AppContext
from switchboard.core.jobs.schemas import JobCreate, JobRead, JobStatus
from switchboard.kit.ids import new_id
from switchboard.models import Job, User
from tests.fixtures.app import TEST_SECRET, make_settings
from tests.fixtures.database import available_redis_url
from tests.fixtures.jobs import MODULE
from tests.fixtures.waiting import eventually

REDIS_URL = available_redis_url()

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers"),
]

ROOT = Path(__file__).resolve().parents[2]
FAST = {
    "SWITCHBOARD_JOB_LEASE_SECONDS": "1.5",
    "SWITCHBOARD_JOB_REDELIVERY_SECONDS": "2",
    "SWITCHBOARD_JOB_SWEEP_INTERVAL_SECONDS": "0.5",
    "SWITCHBOARD_JOB_STALE_AFTER_SECONDS": "5",
    "SWITCHBOARD_JOB_SHUTDOWN_GRACE_SECONDS": "1",
}


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    ctx: AppContext
    start_worker: Callable[[], Worker]


@pytest.fixture
async def cluster(tmp_path: Path, engine: AsyncEngine) -> AsyncIterator[Cluster]:
    assert REDIS_URL is not None
    database_url = engine.url.render_as_string(hide_password=False)
    prefix = f"switchboard:e2e:{new_id()}"
    overrides: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "extra_task_modules": [MODULE],
    }
    ctx = build_context(make_settings(tmp_path / "data", database_url, **overrides))
    await ctx.job_runtime.transport.start(None)  # send only: the workers consume
    workers: list[Worker] = []

    def start_worker() -> Worker:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
                "SWITCHBOARD_DATABASE_URL": database_url,
                "SWITCHBOARD_REDIS_URL": REDIS_URL or "",
                "SWITCHBOARD_SECRET_KEY": TEST_SECRET,
                "SWITCHBOARD_LOG_FORMAT": "json",
                "SWITCHBOARD_REDIS_PREFIX": prefix,
                "SWITCHBOARD_EXTRA_TASK_MODULES": MODULE,
                **FAST,
            }
        )
        log = tmp_path / f"worker-{len(workers)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "switchboard", "worker", "--concurrency", "4"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        worker = Worker(process, log)
        workers.append(worker)
        return worker

    yield Cluster(ctx, start_worker)
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(timeout=10)
    await ctx.job_runtime.transport.stop()
    await ctx.bus.aclose()
    await ctx.engine.dispose()
    async with Redis.from_url(REDIS_URL) as redis:
        await redis.delete(f"{prefix}:jobs")


async def _row(ctx: AppContext, job_id: str) -> Job:
    async with ctx.unit_of_work() as uow:
        job = await uow.session.get(Job, job_id)
        assert job is not None
        return job


async def _create(ctx: AppContext, type: str, params: dict[str, Any]) -> JobRead:
    async with ctx.unit_of_work() as uow:
        user = User(email=f"{new_id()}@example.com")
        uow.session.add(user)
        await uow.session.flush()
        return await ctx.services(uow).jobs.create(user.id, JobCreate(type=type, params=params))


async def test_killed_worker_job_is_completed_by_another(cluster: Cluster) -> None:
    workers = [cluster.start_worker(), cluster.start_worker()]
    await _started(workers)
    job = await _create(cluster.ctx, "test.sleep", {"seconds": 3})

    running = await eventually(
        lambda: _owner_pid(cluster.ctx, job.id), timeout=10, what="a worker to start the job"
    )
    victim = next(w for w in workers if w.process.pid == running)
    survivor = next(w for w in workers if w is not victim)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)

    async def completed() -> Job | None:
        row = await _row(cluster.ctx, job.id)
        return row if row.status == JobStatus.COMPLETED.value else None

    done = await eventually(completed, timeout=30, what="the survivor to complete the job")
    assert done.result is not None and done.result["pid"] == survivor.process.pid
    assert done.attempts == 2
    assert f'"job_id": "{job.id}"' in survivor.text() or job.id in survivor.text()
    # The row is finished before the worker writes its log line about it.
    await eventually(
        lambda: "job_finished" in survivor.text(), timeout=10, what="the job_finished log"
    )

    # A graceful stop: SIGTERM ends the survivor cleanly.
    survivor.process.send_signal(signal.SIGTERM)
    assert survivor.process.wait(timeout=15) == 0
    assert "worker_stopped" in survivor.text()


async def test_jobs_spread_over_workers_and_each_runs_once(cluster: Cluster) -> None:
    workers = [cluster.start_worker(), cluster.start_worker()]
    await _started(workers)
    jobs = [await _create(cluster.ctx, "test.sleep", {"seconds": 0.2}) for _ in range(12)]

    async def all_done() -> bool:
        rows = [await _row(cluster.ctx, job.id) for job in jobs]
        return all(row.status == JobStatus.COMPLETED.value for row in rows)

    await eventually(all_done, timeout=30, what="every job to complete")
    rows = [await _row(cluster.ctx, job.id) for job in jobs]
    assert all(row.attempts == 1 for row in rows)
    pids = {row.result["pid"] for row in rows if row.result}
    assert pids <= {w.process.pid for w in workers}


async def _started(workers: list[Worker]) -> None:
    await eventually(
        lambda: all("worker_started" in w.text() for w in workers),
        timeout=30,
        what="workers to start",
    )


async def _owner_pid(ctx: AppContext, job_id: str) -> int | None:
    row = await _row(ctx, job_id)
    if row.status != JobStatus.RUNNING.value or not row.lease_owner:
        return None
    # lease_owner is "<host>:<pid>/<claim>".
    return int(row.lease_owner.split("/")[0].rsplit(":", 1)[1])
