"""Scale-out, end to end: two `switchboard serve` replicas and one `switchboard worker`
on Redis and one database.

- a job created through replica A runs on the worker, and its events reach a subscriber
  connected to replica B;
- a reply streaming from replica A is stopped through replica B;
- a reply streaming from replica A is followed, delta by delta, by a subscriber to its
  conversation's topic on replica B;
- rate limits are shared: requests through A count on B.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from switchboard.kit.ids import new_id
from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.fixtures.app import TEST_SECRET, User
from tests.fixtures.database import available_redis_url
from tests.fixtures.jobs import MODULE
from tests.fixtures.sse import sse_events
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.waiting import eventually, until_set

REDIS_URL = available_redis_url()

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Replicas:
    a: LiveServer
    b: LiveServer
    worker_log: Path


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_url: str,
    openai_upstream_server: FakeUpstream,
) -> Iterator[Replicas]:
    assert REDIS_URL is not None
    prefix = f"switchboard:e2e-replicas:{new_id()}"
    stream = f"{prefix}:jobs"
    shared = {
        "PYTHONPATH": str(ROOT),
        "SWITCHBOARD_REDIS_URL": REDIS_URL,
        "SWITCHBOARD_REDIS_PREFIX": prefix,
        "SWITCHBOARD_EXTRA_TASK_MODULES": MODULE,
        # Per hour: a sliding window weighs the previous window in, so a minute-long one
        # could let a sixth request through when the test straddles a minute boundary.
        "SWITCHBOARD_RATE_LIMIT_DEFAULT": "5/hour",
        "OPENAI_API_KEY": OPENAI_TEST_KEY,
        "OPENAI_BASE_URL": openai_upstream_server.url + "/v1",
    }
    root = tmp_path_factory.mktemp("replicas")
    a = start_server(root / "a", migrated_url, shared)
    b = start_server(root / "b", migrated_url, shared)
    worker_log = root / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(shared)
    env.update(
        {
            "SWITCHBOARD_DATA_DIR": str(root / "w"),
            "SWITCHBOARD_DATABASE_URL": migrated_url,
            "SWITCHBOARD_SECRET_KEY": TEST_SECRET,
            "SWITCHBOARD_LOG_FORMAT": "json",
        }
    )
    with worker_log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "worker", "--concurrency", "4"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        yield Replicas(a, b, worker_log)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        stop_server(a)
        stop_server(b)
        asyncio.run(_drop_stream(stream))


async def _drop_stream(stream: str) -> None:
    async with Redis.from_url(REDIS_URL or "") as redis:
        await redis.delete(stream)


async def collect_events(
    client: httpx.AsyncClient, url: str, user: User, into: list[Any], live: asyncio.Event
) -> None:
    """Collect the JSON of server-sent events from `url` until cancelled; `live` is set
    once the server answered, which it does only after its subscription is live."""
    async with client.stream("GET", url, headers=user.headers, timeout=None) as response:
        assert response.status_code == 200
        live.set()
        async for event in sse_events(response):
            into.append(event.json())


async def test_job_through_a_runs_on_the_worker_and_events_reach_b(
    replicas: Replicas, engine: object
) -> None:
    user = await replicas.a.user(f"{new_id()}@example.com")
    events: list[Any] = []
    live = asyncio.Event()
    async with httpx.AsyncClient() as client:
        listener = asyncio.create_task(
            collect_events(client, replicas.b.url + "/switchboard/v1/events", user, events, live)
        )
        await until_set(live, timeout=10)
        created = await client.post(
            replicas.a.url + "/switchboard/v1/jobs",
            json={"type": "test.echo", "params": {"value": "hello"}},
            headers=user.headers,
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        await eventually(
            lambda: any(e["type"] == "job.completed" for e in events),
            timeout=20,
            what="job.completed on B",
        )
        listener.cancel()
        job = (
            await client.get(
                replicas.b.url + f"/switchboard/v1/jobs/{job_id}", headers=user.headers
            )
        ).json()
    assert job["status"] == "completed"
    assert [e["type"] for e in events if e["data"].get("id") == job_id][-1] == "job.completed"
    assert job_id in replicas.worker_log.read_text()
    assert "job_started" not in replicas.a.log.read_text()


async def test_reply_streaming_on_a_is_stopped_through_b(
    replicas: Replicas, engine: object, openai_upstream: FakeUpstream
) -> None:
    user = await replicas.a.user(f"{new_id()}@example.com")
    openai_upstream.chunk_delay = 0.1
    openai_upstream.reply(" ".join(f"word{i}" for i in range(200)))
    async with httpx.AsyncClient(timeout=30) as client:
        chat = await client.post(
            replicas.a.url + "/v1/chats",
            json={"title": "t", "model_config": {"provider": "openai", "model": "fake-model"}},
            headers=user.token_headers,
        )
        assert chat.status_code in (200, 201), chat.text
        chat_id = chat.json()["data"]["id"]
        received: list[str] = []

        async def consume() -> None:
            async with client.stream(
                "POST",
                replicas.a.url + f"/v1/chats/{chat_id}/messages",
                json={"content": "go", "stream": True},
                headers=user.token_headers,
            ) as response:
                async for event in sse_events(response):
                    received.append(event.data)

        streaming = asyncio.create_task(consume())
        await eventually(
            lambda: sum("word" in data for data in received) >= 3, timeout=20, what="first words"
        )
        stop = await client.post(
            replicas.b.url + f"/switchboard/v1/conversations/{chat_id}/stop", headers=user.headers
        )
        assert stop.json() == {"stopped": True}
        await asyncio.wait_for(streaming, 10)
        messages = await client.get(
            replicas.b.url + f"/v1/chats/{chat_id}/messages", headers=user.token_headers
        )
    reply = messages.json()["data"][-1]
    assert reply["role"] == "assistant"
    assert 0 < len(reply["content"]) < len(" ".join(f"word{i}" for i in range(200)))


async def test_rate_limits_are_shared(replicas: Replicas, engine: object) -> None:
    user = await replicas.a.user(f"{new_id()}@example.com")
    body = {"model": "echo/echo", "messages": [{"role": "user", "content": "x"}]}
    async with httpx.AsyncClient() as client:
        codes = []
        for server in (replicas.a, replicas.b, replicas.a, replicas.b, replicas.a, replicas.b):
            response = await client.post(
                server.url + "/v1/chat/completions", json=body, headers=user.headers
            )
            codes.append(response.status_code)
    assert codes == [200, 200, 200, 200, 200, 429]


async def test_a_reply_streaming_on_a_is_followed_on_b(
    replicas: Replicas, engine: object, openai_upstream: FakeUpstream
) -> None:
    user = await replicas.a.user(f"{new_id()}@example.com")
    answer = " ".join(f"word{i}" for i in range(30))
    openai_upstream.reply(answer)
    events: list[Any] = []
    live = asyncio.Event()
    async with httpx.AsyncClient(timeout=30) as client:
        chat = await client.post(
            replicas.a.url + "/v1/chats",
            json={"title": "t", "model_config": {"provider": "openai", "model": "fake-model"}},
            headers=user.token_headers,
        )
        chat_id = chat.json()["data"]["id"]
        url = replicas.b.url + f"/switchboard/v1/events?topic=session:{chat_id}"
        listener = asyncio.create_task(collect_events(client, url, user, events, live))
        await until_set(live, timeout=10)
        sent = await client.post(
            replicas.a.url + f"/v1/chats/{chat_id}/messages",
            json={"content": "go", "stream": True},
            headers=user.token_headers,
        )
        assert sent.status_code == 200
        await eventually(
            lambda: any(e["type"] == "turn.finished" for e in events),
            timeout=20,
            what="turn.finished on B",
        )
        listener.cancel()
    types = [e["type"] for e in events]
    assert types[0] == "turn.started" and types[-1] == "turn.finished"
    assert "".join(e["data"]["text"] for e in events if e["type"] == "turn.delta") == answer
    assert events[-1]["data"]["status"] == "complete"
