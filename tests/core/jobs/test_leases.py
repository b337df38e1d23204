"""JobLeases: claims and finishes of many jobs in one statement."""

from __future__ import annotations

from switchboard.core.jobs.leases import Finish, completion, failure
from switchboard.core.jobs.schemas import JobRead, JobStatus
from switchboard.kit.clock import utcnow
from tests.core.jobs.conftest import JobsEnv


async def _pending(jobs_env: JobsEnv, count: int) -> tuple[str, list[JobRead]]:
    owner = await jobs_env.user()
    jobs = [await jobs_env.create(owner, "test.echo", {"value": str(n)}) for n in range(count)]
    return owner, jobs


class TestClaimMany:
    async def test_claims_each_claimable_job_once(self, jobs_env: JobsEnv) -> None:
        _, jobs = await _pending(jobs_env, 3)
        await jobs_env.update(jobs[2].id, cancel_requested=True)
        ids = [job.id for job in jobs]
        claimed = await jobs_env.leases.claim_many(ids, "w/1", lease_seconds=30)
        assert set(claimed) == {jobs[0].id, jobs[1].id}
        first = claimed[jobs[0].id]
        assert first.status == JobStatus.RUNNING and first.attempts == 1
        assert first.params["value"] == "0" and first.started_at is not None
        assert (await jobs_env.raw(jobs[0].id)).lease_owner == "w/1"
        # Running under a live lease: nobody else gets them.
        assert await jobs_env.leases.claim_many(ids, "w/2", lease_seconds=30) == {}


class TestFinishMany:
    async def test_finishes_a_batch_with_different_outcomes(self, jobs_env: JobsEnv) -> None:
        _, jobs = await _pending(jobs_env, 5)
        ids = [job.id for job in jobs]
        await jobs_env.leases.claim_many(ids[:3], "w/a", lease_seconds=30)
        await jobs_env.leases.claim_many(ids[3:], "w/b", lease_seconds=30)
        finished = await jobs_env.leases.finish_many(
            [
                completion(ids[0], "w/a", {"n": 0}, 0.5),
                completion(ids[1], "w/a", {"n": 1, "nested": {"x": [1, 2]}}, None),
                failure(ids[2], "w/a", "It broke", "broken"),
                Finish(ids[3], "w/b", JobStatus.CANCELLED),
                # Not ours: claimed by w/b, so this finish must not touch it.
                completion(ids[4], "w/a", {"n": 4}, None),
            ]
        )
        assert [job.status if job else None for job in finished] == [
            JobStatus.COMPLETED,
            JobStatus.COMPLETED,
            JobStatus.FAILED,
            JobStatus.CANCELLED,
            None,
        ]
        rows = [await jobs_env.row(job_id) for job_id in ids]
        assert rows[0].result == {"n": 0} and rows[0].actual_cost == 0.5
        assert rows[0].progress == 1.0 and rows[0].error is None
        assert rows[1].result == {"n": 1, "nested": {"x": [1, 2]}} and rows[1].actual_cost is None
        assert rows[2].error == "It broke" and rows[2].error_code == "broken"
        assert rows[2].result is None and rows[2].progress == 0.0
        assert rows[3].status == JobStatus.CANCELLED and rows[3].result is None
        assert rows[4].status == JobStatus.RUNNING
        assert all(row.finished_at is not None for row in rows[:4])
        for job_id in ids[:4]:
            raw = await jobs_env.raw(job_id)
            assert raw.lease_owner is None and raw.lease_expires_at is None
        # What each finish returns is the row as stored.
        assert [job.model_dump() if job else None for job in finished[:4]] == [
            r.model_dump() for r in rows[:4]
        ]

    async def test_a_finished_job_is_never_finished_again(self, jobs_env: JobsEnv) -> None:
        _, jobs = await _pending(jobs_env, 2)
        ids = [job.id for job in jobs]
        await jobs_env.leases.claim_many(ids, "w/a", lease_seconds=30)
        first = await jobs_env.leases.finish_many(
            [completion(ids[0], "w/a", {"first": True}, None)]
        )
        assert first[0] is not None
        again = await jobs_env.leases.finish_many(
            [
                failure(ids[0], "w/a", "late", "late"),
                completion(ids[1], "w/a", {"second": True}, None),
            ]
        )
        assert again[0] is None and again[1] is not None
        assert (await jobs_env.row(ids[0])).result == {"first": True}

    async def test_a_job_named_twice_is_finished_once(self, jobs_env: JobsEnv) -> None:
        _, jobs = await _pending(jobs_env, 1)
        job_id = jobs[0].id
        await jobs_env.leases.claim_many([job_id], "w/a", lease_seconds=30)
        finished = await jobs_env.leases.finish_many(
            [
                completion(job_id, "w/a", {"winner": True}, None),
                failure(job_id, "w/a", "second", "second"),
            ]
        )
        assert finished[0] is not None and finished[1] is None
        row = await jobs_env.row(job_id)
        assert row.status == JobStatus.COMPLETED and row.result == {"winner": True}

    async def test_an_empty_batch_touches_nothing(self, jobs_env: JobsEnv) -> None:
        assert await jobs_env.leases.finish_many([]) == []


class TestCancelledClaim:
    async def test_no_runner_write_replaces_the_owners_cancel(self, jobs_env: JobsEnv) -> None:
        owner, jobs = await _pending(jobs_env, 1)
        job_id = jobs[0].id
        await jobs_env.leases.claim(job_id, "w/a", lease_seconds=30)
        await jobs_env.service(lambda s: s.cancel(owner, job_id))
        cancelled = await jobs_env.row(job_id)
        leases = jobs_env.leases
        assert await leases.renew(job_id, "w/a", 30) is None
        assert await leases.progress(job_id, "w/a", 0.5, "half") is None
        assert await leases.complete(job_id, "w/a", {"late": True}, 1.0) is None
        assert await leases.fail(job_id, "w/a", "late", "late") is None
        assert await leases.cancelled(job_id, "w/a") is None
        assert await leases.retry_later(job_id, "w/a", utcnow(), "later", "later") is None
        assert await leases.release(job_id, "w/a") is None
        assert await leases.reap(limit=10) == []
        assert await leases.claim(job_id, "w/b", lease_seconds=30) is None
        assert await jobs_env.row(job_id) == cancelled
        assert cancelled.status == JobStatus.CANCELLED and cancelled.result is None
