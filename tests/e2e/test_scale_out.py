"""Scale-out, end to end: two `switchboard serve` replicas and two `switchboard worker`
processes, started together on a fresh PostgreSQL database, sharing one Redis.

- a job created through replica A runs on a worker and reads back through replica B;
- live events subscribed on A arrive for work done through B;
- a reply streaming from A is stopped through B;
- rate limits are shared: requests split over A and B exhaust one bucket;
- `kill -9` of a worker mid-job loses no job: the other worker completes it;
- `kill -9` of a replica mid-stream leaves a `partial` reply (reason `server_restart`,
  with the text flushed so far) once the sweep has found the replica gone.

Runs only in `.ci/run`'s PostgreSQL + Redis pass (see `scaleout_support` for how it keeps
clear of the tests running beside it). The tests run in file order on one cluster: the
worker test starts a replacement for the worker it kills, and the replica test, which
leaves replica A dead, comes last.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.kit.ids import new_id
from switchboard.models import Job, Message
from tests.e2e.scaleout_support import (
    Cluster,
    fresh_database,
    kill,
    own_redis_url,
    skip_reason,
    start_cluster,
)
from tests.e2e.test_worker_kill import FAST
from tests.fixtures.app import User
from tests.fixtures.jobs import MODULE
from tests.fixtures.sse import sse_events
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.waiting import eventually, until_set

SKIP = skip_reason()

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.scaleout,
    pytest.mark.skipif(SKIP is not None, reason=SKIP or ""),
    # One cluster for the module when the run distributes with --dist loadgroup.
    pytest.mark.xdist_group("scaleout"),
]

ROOT = Path(__file__).resolve().parents[2]
AUTH_LIMIT = 3  # sign-ups per hour and client address (an hour: see test_rate_limits_are_shared)
WORDS = 400


@pytest.fixture(scope="module")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory, openai_upstream_server: FakeUpstream
) -> AsyncIterator[Cluster]:
    redis_url = own_redis_url()
    env = {
        "PYTHONPATH": str(ROOT),
        # Logs as they are written: a process killed with SIGKILL keeps its last words.
        "PYTHONUNBUFFERED": "1",
        "SWITCHBOARD_REDIS_URL": redis_url,
        "SWITCHBOARD_REDIS_PREFIX": f"switchboard:e2e-scaleout:{new_id()}",
        "SWITCHBOARD_EXTRA_TASK_MODULES": MODULE,
        "SWITCHBOARD_RATE_LIMIT_AUTH": f"{AUTH_LIMIT}/hour",
        # Short leases and sweeps, so that a killed worker's job moves on in seconds.
        **FAST,
        # Frequent flushes: a reply's lease spans a few flush intervals, so that it lapses
        # (and the sweep finishes the reply) soon after its replica dies.
        "SWITCHBOARD_STREAM_FLUSH_INTERVAL_SECONDS": "0.2",
        "OPENAI_API_KEY": OPENAI_TEST_KEY,
        "OPENAI_BASE_URL": openai_upstream_server.url + "/v1",
    }
    async with fresh_database() as database_url:
        running = await start_cluster(
            tmp_path_factory.mktemp("scaleout"), database_url, redis_url, env
        )
        try:
            yield running
        finally:
            await running.stop()


async def test_job_through_a_runs_on_a_worker_and_reads_back_through_b(cluster: Cluster) -> None:
    user = await cluster.a.user(f"{new_id()}@example.com")
    async with httpx.AsyncClient(timeout=10) as client:
        job_id = await _create_job(client, cluster.a.url, user, {"seconds": 0})

        async def completed_on_b() -> dict[str, Any] | None:
            response = await client.get(
                f"{cluster.b.url}/switchboard/v1/jobs/{job_id}", headers=user.headers
            )
            assert response.status_code == 200, response.text
            job: dict[str, Any] = response.json()
            return job if job["status"] == "completed" else None

        job = await eventually(completed_on_b, timeout=20, what="the job, read through B")
    assert job["result"]["pid"] in cluster.worker_pids()
    assert "job_started" not in cluster.a.log.read_text() + cluster.b.log.read_text()


async def test_events_subscribed_on_a_arrive_for_work_done_through_b(cluster: Cluster) -> None:
    user = await cluster.a.user(f"{new_id()}@example.com")
    events: list[Any] = []
    live = asyncio.Event()
    async with httpx.AsyncClient(timeout=10) as client:
        listener = asyncio.create_task(
            _collect(client, f"{cluster.a.url}/switchboard/v1/events", user, events, live)
        )
        try:
            await until_set(live, timeout=10)
            job_id = await _create_job(client, cluster.b.url, user, {"seconds": 0.2, "steps": 2})
            await eventually(
                lambda: _types(events, job_id)[-1:] == ["job.completed"],
                timeout=20,
                what="job.completed on A",
            )
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
    types = _types(events, job_id)
    # created comes from B's request, started and progress from a worker.
    assert types[0] == "job.created"
    assert {"job.started", "job.progress"} <= set(types)


async def test_reply_streaming_from_a_is_stopped_through_b(
    cluster: Cluster, openai_upstream: FakeUpstream
) -> None:
    user = await cluster.a.user(f"{new_id()}@example.com")
    openai_upstream.chunk_delay = 0.05
    openai_upstream.reply(_long_reply())
    async with httpx.AsyncClient(timeout=30) as client:
        chat_id = await _create_chat(client, cluster.a.url, user)
        stream = _Stream()
        streaming = asyncio.create_task(stream.run(client, cluster.a.url, chat_id, user))
        try:
            await eventually(lambda: len(stream.text()) > 0, timeout=20, what="the first words")
            stop = await client.post(
                f"{cluster.b.url}/switchboard/v1/conversations/{chat_id}/stop",
                headers=user.headers,
            )
            assert stop.status_code == 200, stop.text
            assert stop.json() == {"stopped": True}
            await asyncio.wait_for(asyncio.shield(streaming), 10)
        finally:
            streaming.cancel()
            await asyncio.gather(streaming, return_exceptions=True)
    assert stream.error is None
    row = await _message(cluster, stream.reply_id)
    assert (row.status, row.status_reason) == ("partial", "stopped")
    assert 0 < len(row.content) < len(_long_reply())


async def test_rate_limits_are_shared(cluster: Cluster) -> None:
    # The sign-up limit counts per client address: a loopback address of this test's own
    # keeps the bucket clear of any other run's (the window is an hour, so that a test
    # straddling a window boundary cannot let an extra request through).
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    transport = httpx.AsyncHTTPTransport(local_address=address)
    codes: list[int] = []
    try:
        async with httpx.AsyncClient(transport=transport, timeout=10) as client:
            for n in range(AUTH_LIMIT + 1):
                server = cluster.replicas[n % 2]
                response = await client.post(
                    f"{server.url}/v1/auth/signup",
                    json={"email": f"{new_id()}@example.com", "password": "a-long-password-123"},
                )
                codes.append(response.status_code)
            last = response
    finally:
        await _forget_counters(cluster, address)
    assert codes == [201] * AUTH_LIMIT + [429], codes
    assert int(last.headers["retry-after"]) > 0


async def test_worker_killed_mid_job_loses_no_job(cluster: Cluster) -> None:
    user = await cluster.a.user(f"{new_id()}@example.com")
    async with httpx.AsyncClient(timeout=10) as client:
        job_id = await _create_job(client, cluster.a.url, user, {"seconds": 2})
        running = await eventually(
            lambda: _running_pid(cluster, job_id), timeout=15, what="a worker to start the job"
        )
        assert running in cluster.worker_pids(), running
        victim = next(w for w in cluster.workers if w.process.pid == running)
        survivors = {w.process.pid for w in cluster.workers if w.process.poll() is None} - {running}
        kill(victim.process)

        async def completed() -> dict[str, Any] | None:
            response = await client.get(
                f"{cluster.b.url}/switchboard/v1/jobs/{job_id}", headers=user.headers
            )
            job: dict[str, Any] = response.json()
            return job if job["status"] == "completed" else None

        try:
            job = await eventually(completed, timeout=30, what="the other worker to finish it")
        finally:
            cluster.add_worker()  # the cluster has two workers again for the next test
    assert job["result"]["pid"] in survivors
    assert job["attempts"] == 2


async def test_replica_killed_mid_stream_leaves_a_partial_reply(
    cluster: Cluster, openai_upstream: FakeUpstream
) -> None:
    user = await cluster.a.user(f"{new_id()}@example.com")
    openai_upstream.chunk_delay = 0.05
    openai_upstream.reply(_long_reply())
    async with httpx.AsyncClient(timeout=30) as client:
        chat_id = await _create_chat(client, cluster.a.url, user)
        stream = _Stream()
        streaming = asyncio.create_task(stream.run(client, cluster.a.url, chat_id, user))
        try:
            await eventually(lambda: stream.reply_id, timeout=20, what="the reply to start")

            async def flushed() -> str | None:
                row = await _message(cluster, stream.reply_id)
                return row.content if row.status == "streaming" and row.content else None

            await eventually(flushed, timeout=10, what="text flushed while streaming")
            kill(cluster.a.process)
            await asyncio.wait_for(asyncio.shield(streaming), 10)
        finally:
            streaming.cancel()
            await asyncio.gather(streaming, return_exceptions=True)
    assert stream.error is not None  # the client saw its stream cut, not finished

    # B's periodic sweep finds the reply once A's lease on it has lapsed.
    async def swept() -> Message | None:
        row = await _message(cluster, stream.reply_id)
        return row if row.status != "streaming" else None

    row = await eventually(swept, timeout=15, what="B's sweep to settle the reply")
    assert (row.status, row.status_reason) == ("partial", "server_restart")
    # The text A flushed before it died: a start of the reply, cut short.
    assert 0 < len(row.content) < len(_long_reply())
    assert _long_reply().startswith(row.content)


# -- helpers ------------------------------------------------------------------------------
def _long_reply() -> str:
    return " ".join(f"word{i}" for i in range(WORDS))


async def _create_job(
    client: httpx.AsyncClient, url: str, user: User, params: dict[str, Any]
) -> str:
    created = await client.post(
        f"{url}/switchboard/v1/jobs",
        json={"type": "test.sleep", "params": params},
        headers=user.headers,
    )
    assert created.status_code == 201, created.text
    job_id: str = created.json()["id"]
    return job_id


async def _create_chat(client: httpx.AsyncClient, url: str, user: User) -> str:
    chat = await client.post(
        f"{url}/v1/chats",
        json={"title": "t", "model_config": {"provider": "openai", "model": "fake-model"}},
        headers=user.token_headers,
    )
    assert chat.status_code == 201, chat.text
    chat_id: str = chat.json()["data"]["id"]
    return chat_id


class _Stream:
    """A PocketLLM streaming reply, read as it arrives; a dropped connection ends it."""

    def __init__(self) -> None:
        self.reply_id = ""
        self.deltas: list[str] = []
        self.error: httpx.HTTPError | None = None

    def text(self) -> str:
        return "".join(self.deltas)

    async def run(self, client: httpx.AsyncClient, url: str, chat_id: str, user: User) -> None:
        try:
            async with client.stream(
                "POST",
                f"{url}/v1/chats/{chat_id}/messages",
                json={"content": "go", "stream": True},
                headers=user.token_headers,
            ) as response:
                assert response.status_code in (200, 201), await response.aread()
                async for event in sse_events(response):
                    if event.event == "start":
                        self.reply_id = event.json()["assistantMessage"]["id"]
                    elif event.event == "delta":
                        self.deltas.append(event.json()["content"])
        except httpx.HTTPError as exc:  # the replica was killed under the stream
            self.error = exc


async def _collect(
    client: httpx.AsyncClient, url: str, user: User, into: list[Any], live: asyncio.Event
) -> None:
    """The JSON of every event from `url`; `live` is set once the server answered, which
    it does only after its subscription is live."""
    async with client.stream("GET", url, headers=user.headers, timeout=None) as response:
        assert response.status_code == 200
        live.set()
        async for event in sse_events(response):
            into.append(event.json())


def _types(events: list[Any], job_id: str) -> list[str]:
    return [e["type"] for e in events if e.get("data", {}).get("id") == job_id]


async def _message(cluster: Cluster, message_id: str) -> Message:
    async with AsyncSession(cluster.engine) as session:
        row = await session.get(Message, message_id)
    assert row is not None
    return row


async def _running_pid(cluster: Cluster, job_id: str) -> int | None:
    async with AsyncSession(cluster.engine) as session:
        job = await session.get(Job, job_id)
    assert job is not None
    if job.status != "running" or not job.lease_owner:
        return None
    # lease_owner is "<host>:<pid>/<claim>".
    return int(job.lease_owner.split("/")[0].rsplit(":", 1)[1])


async def _forget_counters(cluster: Cluster, address: str) -> None:
    async with Redis.from_url(cluster.redis_url) as redis:
        keys = [key async for key in redis.scan_iter(match=f"*{address}*")]
        if keys:
            await redis.delete(*keys)
