"""JobService: creating, reading, cancelling, retrying and deleting a user's jobs."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from switchboard.core.errors import ErrorKind, SwitchboardError
from switchboard.core.events.schemas import task_topic, user_topic
from switchboard.core.jobs.schemas import JobCreate, JobStatus, ScheduleCreate
from switchboard.core.jobs.service import JobService
from switchboard.kit.clock import utcnow
from tests.core.jobs.conftest import JobsEnv, collect
from tests.fixtures.waiting import eventually


class TestCreate:
    async def test_queued_and_announced_after_commit(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        events, pump = await collect(jobs_env.bus, user_topic(owner))
        job = await jobs_env.create(owner, "test.echo", {"value": "hi"})
        assert job.status == JobStatus.PENDING
        assert job.params == {"value": "hi", "cost": None}
        assert jobs_env.queue.sent == [(job.id, 0.0)]
        await eventually(lambda: [e.type for e in events] == ["job.created"])
        assert "params" not in events[0].data
        pump.cancel()

    async def test_rolled_back_creation_sends_nothing(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        with pytest.raises(RuntimeError):
            async with jobs_env.units() as uow:
                await JobService(uow, jobs_env.setup).create(
                    owner, JobCreate(type="test.echo", params={"value": "x"})
                )
                raise RuntimeError("request failed")
        assert jobs_env.queue.sent == []
        page = await jobs_env.service(lambda s: s.list_jobs(owner))
        assert page.total == 0

    async def test_idempotency_key_returns_the_first_job(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        first = await jobs_env.create(owner, "test.echo", {"value": "a"}, idempotency_key="k1")
        again = await jobs_env.create(owner, "test.echo", {"value": "a"}, idempotency_key="k1")
        assert again.id == first.id
        assert jobs_env.queue.ids() == [first.id]

    async def test_unknown_type_is_invalid(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        with pytest.raises(SwitchboardError) as caught:
            await jobs_env.create(owner, "no.such.type", {})
        assert caught.value.kind == ErrorKind.INVALID
        assert caught.value.code == "unknown_job_type"

    async def test_bad_params_are_invalid(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        with pytest.raises(SwitchboardError) as caught:
            await jobs_env.create(owner, "test.echo", {"value": 3, "extra": True})
        assert caught.value.kind == ErrorKind.INVALID
        assert caught.value.code == "invalid_job_params"

    async def test_run_at_in_the_future_is_sent_with_a_delay(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(
            owner, "test.echo", {"value": "later"}, run_at=utcnow() + timedelta(seconds=60)
        )
        ((sent_id, delay),) = jobs_env.queue.sent
        assert sent_id == job.id
        assert 55 < delay <= 60


class TestRead:
    async def test_another_users_job_is_not_found(self, jobs_env: JobsEnv) -> None:
        alice, bob = await jobs_env.user(), await jobs_env.user()
        job = await jobs_env.create(alice, "test.echo", {"value": "mine"})
        for action in (
            lambda s: s.get(bob, job.id),
            lambda s: s.cancel(bob, job.id),
            lambda s: s.retry(bob, job.id),
            lambda s: s.delete(bob, job.id),
        ):
            with pytest.raises(SwitchboardError) as caught:
                await jobs_env.service(action)
            assert caught.value.kind == ErrorKind.NOT_FOUND
        with pytest.raises(SwitchboardError):
            await jobs_env.service(lambda s: s.get(alice, "not-a-uuid"))

    async def test_list_filters_and_pages(self, jobs_env: JobsEnv) -> None:
        owner, other = await jobs_env.user(), await jobs_env.user()
        for i in range(3):
            await jobs_env.create(owner, "test.echo", {"value": str(i)})
        await jobs_env.create(owner, "test.crash", {})
        await jobs_env.create(other, "test.echo", {"value": "theirs"})
        page = await jobs_env.service(lambda s: s.list_jobs(owner, limit=2))
        assert page.total == 4 and len(page.items) == 2
        echoes = await jobs_env.service(lambda s: s.list_jobs(owner, type="test.echo"))
        assert echoes.total == 3
        pending = await jobs_env.service(lambda s: s.list_jobs(owner, status=JobStatus.PENDING))
        assert pending.total == 4
        rest = await jobs_env.service(lambda s: s.list_jobs(owner, limit=10, offset=3))
        assert len(rest.items) == 1


class TestCancel:
    async def test_pending_job_is_cancelled_and_never_runs(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        cancelled = await jobs_env.service(lambda s: s.cancel(owner, job.id))
        assert cancelled.status == JobStatus.CANCELLED
        assert (await jobs_env.runner.run(job.id)).value == "skipped"
        assert (await jobs_env.row(job.id)).status == JobStatus.CANCELLED

    async def test_finished_job_cannot_be_cancelled(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        await jobs_env.runner.run(job.id)
        with pytest.raises(SwitchboardError) as caught:
            await jobs_env.service(lambda s: s.cancel(owner, job.id))
        assert caught.value.kind == ErrorKind.CONFLICT

    async def test_running_job_is_cancelled_at_once_and_its_runner_told(
        self, jobs_env: JobsEnv
    ) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.sleep", {"seconds": 30})
        await jobs_env.leases.claim(job.id, "w/1", lease_seconds=30)
        events, pump = await collect(jobs_env.bus, task_topic(job.id))
        cancelled = await jobs_env.service(lambda s: s.cancel(owner, job.id))
        assert cancelled.status == JobStatus.CANCELLED and cancelled.finished_at is not None
        row = await jobs_env.raw(job.id)
        assert row.status == "cancelled" and row.lease_owner is None
        await eventually(lambda: any(e.type == "job.cancel_requested" for e in events))
        assert "job.cancelled" in [e.type for e in events]
        pump.cancel()

    async def test_a_job_that_finished_meanwhile_is_a_conflict(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        await jobs_env.leases.claim(job.id, "w/1", lease_seconds=30)

        async def cancel_after_completion(service: JobService) -> object:
            await service.get(owner, job.id)  # read while it runs...
            await jobs_env.leases.complete(job.id, "w/1", {"done": True}, None)  # ...it ends
            return await service.cancel(owner, job.id)

        with pytest.raises(SwitchboardError) as caught:
            await jobs_env.service(cancel_after_completion)
        assert caught.value.kind == ErrorKind.CONFLICT
        assert "completed" in caught.value.message
        assert (await jobs_env.row(job.id)).status == JobStatus.COMPLETED


class TestRetry:
    async def test_only_failed_jobs_can_be_retried(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        with pytest.raises(SwitchboardError) as caught:
            await jobs_env.service(lambda s: s.retry(owner, job.id))
        assert caught.value.kind == ErrorKind.CONFLICT

    async def test_failed_job_runs_again_with_a_fresh_budget(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.crash", {})
        await jobs_env.runner.run(job.id)
        assert (await jobs_env.row(job.id)).status == JobStatus.FAILED
        again = await jobs_env.service(lambda s: s.retry(owner, job.id))
        assert again.status == JobStatus.PENDING
        assert again.attempts == 0 and again.error is None
        assert jobs_env.queue.ids().count(job.id) == 2


class TestDelete:
    async def test_finished_job_is_deleted(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        await jobs_env.runner.run(job.id)
        await jobs_env.service(lambda s: s.delete(owner, job.id))
        with pytest.raises(SwitchboardError) as caught:
            await jobs_env.service(lambda s: s.get(owner, job.id))
        assert caught.value.kind == ErrorKind.NOT_FOUND

    async def test_live_job_must_be_cancelled_first(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        job = await jobs_env.create(owner, "test.echo", {"value": "x"})
        with pytest.raises(SwitchboardError) as caught:
            await jobs_env.service(lambda s: s.delete(owner, job.id))
        assert caught.value.kind == ErrorKind.CONFLICT


class TestSchedules:
    async def test_create_list_delete(self, jobs_env: JobsEnv) -> None:
        owner, other = await jobs_env.user(), await jobs_env.user()
        spec = ScheduleCreate(type="test.echo", params={"value": "tick"}, cron="*/5 * * * *")
        created = await jobs_env.service(lambda s: s.create_schedule(owner, spec))
        assert created.next_run_at > utcnow()
        assert [s.id for s in await jobs_env.service(lambda s: s.list_schedules(owner))] == [
            created.id
        ]
        with pytest.raises(SwitchboardError) as caught:
            await jobs_env.service(lambda s: s.delete_schedule(other, created.id))
        assert caught.value.kind == ErrorKind.NOT_FOUND
        await jobs_env.service(lambda s: s.delete_schedule(owner, created.id))
        assert await jobs_env.service(lambda s: s.list_schedules(owner)) == []

    async def test_bad_cron_and_zone_are_invalid(self, jobs_env: JobsEnv) -> None:
        owner = await jobs_env.user()
        for cron, zone in (("not a cron at all", "UTC"), ("* * * * *", "Mars/Olympus")):
            with pytest.raises(SwitchboardError) as caught:
                spec = ScheduleCreate(
                    type="test.echo", params={"value": "x"}, cron=cron, timezone=zone
                )
                await jobs_env.service(
                    partial(JobService.create_schedule, owner_id=owner, data=spec)
                )
            assert caught.value.kind == ErrorKind.INVALID
