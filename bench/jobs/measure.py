"""The two job measurements, over any app context whose jobs run somewhere.

- latency: jobs created one at a time, `gap` seconds apart (open loop, no queueing);
  enqueue-to-start is from the moment the creating transaction committed (an
  after-commit callback registered before the job's own enqueue) to the moment the
  handler was entered (wall clock, stamped by the handler in whichever process ran it).
- drain (through Redis only): `count` jobs created (rows committed, messages held back)
  while the workers run idle, then their messages sent while the workers are paused,
  so that the rate is the workers' alone and not the job creation's.
- throughput: `count` jobs created as fast as JobService allows, `batch` per unit of
  work; the rate is `count` over the time from the first commit to the last job's
  `finished_at` (the row is the truth), read from the database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from typing import Any

from sqlalchemy import func, select

from bench.jobs.tasks import STAMP
from switchboard.core.container import AppContext
from switchboard.core.jobs.schemas import JobCreate
from switchboard.core.jobs.service import JobService, JobSetup
from switchboard.models import Job, User

TERMINAL = ("completed", "failed", "cancelled")


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds of `values` given in seconds."""
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    return {
        "n": len(ordered),
        "p50_ms": round(at(0.50), 2),
        "p95_ms": round(at(0.95), 2),
        "p99_ms": round(at(0.99), 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


async def make_user(ctx: AppContext) -> str:
    async with ctx.unit_of_work() as uow:
        user = User(email=f"bench-{time.time_ns()}@example.com")
        uow.session.add(user)
        await uow.session.flush()
        return user.id


async def wait_done(ctx: AppContext, ids: list[str], within: float, poll: float = 0.05) -> None:
    deadline = time.monotonic() + within
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        async with ctx.unit_of_work() as uow:
            done = await uow.session.scalars(
                select(Job.id).where(Job.id.in_(list(pending)), Job.status.in_(TERMINAL))
            )
            pending -= set(done)
        if pending:
            await asyncio.sleep(poll)
    if pending:
        raise TimeoutError(f"{len(pending)} jobs not finished after {within:.0f} s")


async def finished_count(ctx: AppContext, user_id: str) -> int:
    async with ctx.unit_of_work() as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.user_id == user_id, Job.status.in_(TERMINAL))
        )
        return int(count or 0)


async def wait_count(
    ctx: AppContext, user_id: str, target: int, within: float, poll: float = 0.1
) -> None:
    """Wait until `target` of the user's jobs are finished. One small count per poll:
    asking for thousands of ids by name, as `wait_done` does, cost the driver and the
    database enough CPU to slow the workers it was measuring."""
    deadline = time.monotonic() + within
    while (done := await finished_count(ctx, user_id)) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{target - done} jobs not finished after {within:.0f} s")
        await asyncio.sleep(poll)


async def rows(ctx: AppContext, ids: list[str]) -> list[Job]:
    out: list[Job] = []
    for start in range(0, len(ids), 500):
        async with ctx.unit_of_work() as uow:
            out.extend(
                await uow.session.scalars(select(Job).where(Job.id.in_(ids[start : start + 500])))
            )
    return out


async def latency(ctx: AppContext, user_id: str, count: int, gap: float) -> dict[str, Any]:
    """Enqueue-to-start, one job at a time."""
    committed: dict[str, float] = {}
    ids: list[str] = []
    for n in range(count):
        async with ctx.unit_of_work() as uow:
            stamp: dict[str, float] = {}

            async def mark(stamp: dict[str, float] = stamp) -> None:
                stamp["t"] = time.time()

            uow.after_commit(mark)  # before the job's own enqueue: runs first
            job = await ctx.services(uow).jobs.create(
                user_id, JobCreate(type=STAMP, params={"n": n})
            )
        committed[job.id] = stamp["t"]
        ids.append(job.id)
        await asyncio.sleep(gap)
    await wait_done(ctx, ids, within=60)
    found = await rows(ctx, ids)
    waits = [
        float(row.result["t"]) - committed[row.id]
        for row in found
        if row.status == "completed" and row.result
    ]
    report = percentiles(waits)
    report["failed"] = sum(1 for row in found if row.status != "completed")
    return report


async def throughput(ctx: AppContext, user_id: str, count: int, batch: int) -> dict[str, Any]:
    """Trivial jobs per second, created in bulk and drained by whoever runs jobs."""
    already = await finished_count(ctx, user_id)
    first = time.time()
    ids = await create_stamps(ctx, user_id, count, batch, ctx.jobs)
    created = time.time()
    await wait_count(ctx, user_id, already + count, within=max(120.0, count / 20))
    found = await rows(ctx, ids)
    finished = [r.finished_at.timestamp() for r in found if r.finished_at is not None]
    last = max(finished)
    pids: dict[str, int] = {}
    for row in found:
        if row.result and "pid" in row.result:
            key = str(row.result["pid"])
            pids[key] = pids.get(key, 0) + 1
    return {
        "jobs": count,
        "completed": sum(1 for r in found if r.status == "completed"),
        "create_seconds": round(created - first, 3),
        "create_rate": round(count / max(created - first, 1e-9), 1),
        "seconds": round(last - first, 3),
        "jobs_per_s": round(count / max(last - first, 1e-9), 1),
        "per_process": pids,
    }


async def create_stamps(
    ctx: AppContext, user_id: str, count: int, batch: int, setup: JobSetup
) -> list[str]:
    """`count` stamp jobs created through `JobService`, `batch` per unit of work."""
    ids: list[str] = []
    for start in range(0, count, batch):
        async with ctx.unit_of_work() as uow:
            service = JobService(uow, setup)
            for n in range(start, min(start + batch, count)):
                job = await service.create(user_id, JobCreate(type=STAMP, params={"n": n}))
                ids.append(job.id)
    return ids


class HeldQueue:
    """A `JobQueue` that keeps the ids it is asked to send, for sending later."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def enqueue(self, job_id: str, *, delay: float = 0.0) -> None:
        self.ids.append(job_id)

    async def depth(self) -> int | None:
        return len(self.ids)


async def drain(
    ctx: AppContext, user_id: str, count: int, batch: int, pids: list[int]
) -> dict[str, Any]:
    """The workers' own rate: `count` jobs created through `JobService` (their messages
    held back), then their messages sent while the worker processes are paused
    (SIGSTOP), timed from the moment they resume (SIGCONT) until the last job's
    `finished_at`.

    The workers are paused only while the messages are sent (a second or two), not
    while the rows are created: a worker paused for longer than its Redis socket
    timeout (10 s) drops the connection of its blocked XREADGROUP when it resumes, and
    the messages Redis handed to that read meanwhile wait in the group for the sweeper
    (30 s) or the reclaim, which then decides the figure instead of the workers.
    """
    already = await finished_count(ctx, user_id)
    held = HeldQueue()
    setup = JobSetup(registry=ctx.jobs.registry, queue=held, bus=ctx.jobs.bus)
    await create_stamps(ctx, user_id, count, batch, setup)
    ids = held.ids
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    paused = time.time()
    try:
        for start in range(0, len(ids), 500):
            await asyncio.gather(*(ctx.jobs.queue.enqueue(i) for i in ids[start : start + 500]))
        await asyncio.sleep(0.5)  # let the backlog settle in the stream
    finally:
        resumed = time.time()
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    await wait_count(ctx, user_id, already + count, within=max(120.0, count / 20))
    found = await rows(ctx, ids)
    ends = sorted(r.finished_at.timestamp() for r in found if r.finished_at is not None)
    last = ends[-1]
    # Stragglers (a message that had to wait for the sweeper) show as a gap between the
    # 99th percentile and the last finish.
    p99 = ends[min(len(ends) - 1, round(0.99 * (len(ends) - 1)))]
    return {
        "jobs": count,
        "completed": sum(1 for r in found if r.status == "completed"),
        "paused_seconds": round(resumed - paused, 3),
        "seconds": round(last - resumed, 3),
        "jobs_per_s": round(count / max(last - resumed, 1e-9), 1),
        "seconds_to_p99": round(p99 - resumed, 3),
        "attempts_over_one": sum(1 for r in found if r.attempts > 1),
    }


async def count_jobs(ctx: AppContext) -> int:
    async with ctx.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Job)) or 0)
