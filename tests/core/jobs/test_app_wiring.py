"""Jobs inside `switchboard serve`: the in-process queue runs them, /metrics shows them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import REGISTRY

from switchboard.core.container import Services
from switchboard.core.jobs.schemas import JobCreate, JobRead, JobStatus
from tests.fixtures.app import Harness
from tests.fixtures.jobs import MODULE
from tests.fixtures.waiting import eventually

IN_PROCESS: dict[str, Any] = {
    "extra_task_modules": [MODULE],
    "jobs_in_process": "on",
    "job_sweep_interval_seconds": 0.05,
    "job_retry_base_seconds": 0.01,
}


async def _wait_for(harness: Harness, owner: str, job_id: str, status: JobStatus) -> JobRead:
    async def reached() -> JobRead | None:
        job: JobRead = await harness.run(lambda s: s.jobs.get(owner, job_id))
        return job if job.status == status else None

    return await eventually(reached, what=f"job {job_id} {status}")


def _completed_jobs_counted() -> bool:
    """Whether a sweep has counted a completed job in the jobs-by-status gauge."""
    return (REGISTRY.get_sample_value("switchboard_jobs", {"status": "completed"}) or 0) >= 1


async def test_jobs_run_in_the_server_and_show_in_metrics(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(**IN_PROCESS)
    user = await harness.user("jobs@example.com")

    async def create(services: Services) -> JobRead:
        return await services.jobs.create(
            user.id, JobCreate(type="test.flaky", params={"failures": 1})
        )

    created: JobRead = await harness.run(create)
    done = await _wait_for(harness, user.id, created.id, JobStatus.COMPLETED)
    assert done.attempts == 2
    await eventually(_completed_jobs_counted)  # one more sweep counts it
    body = (await harness.client.get("/metrics")).text
    assert 'switchboard_job_duration_seconds_count{outcome="completed",type="test.flaky"}' in body
    assert 'switchboard_job_retries_total{type="test.flaky"}' in body
    assert 'switchboard_jobs{status="completed"}' in body
    assert "switchboard_job_queue_depth" in body


async def test_pending_jobs_left_behind_run_at_start(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    # Created while no server ran jobs (a CLI, or a server that stopped): the next
    # server start queues them again.
    idle = await harness_factory(extra_task_modules=[MODULE], jobs_in_process="off")
    user = await idle.user("left@example.com")

    async def create(services: Services) -> JobRead:
        return await services.jobs.create(
            user.id, JobCreate(type="test.echo", params={"value": "x"})
        )

    created: JobRead = await idle.run(create)
    assert (await idle.run(lambda s: s.jobs.get(user.id, created.id))).status == JobStatus.PENDING
    runner = await harness_factory(**IN_PROCESS)
    await _wait_for(runner, user.id, created.id, JobStatus.COMPLETED)
