"""Issue 11, item 11: Redis away.

Subscribing to live events answers 503 with `Retry-After` at once (it was a 502 after
the 3 s subscribe timeout), and a job created while the queue could not reach Redis is
sent as soon as Redis answers again (it waited for the sweeper to find it stale, ~30 s).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from switchboard.adapters.queue.redis_stream import RedisJobQueue
from switchboard.app import create_app
from switchboard.bootstrap import build_context
from switchboard.config import Settings
from switchboard.kit.ids import new_id
from tests.fixtures.app import Harness
from tests.fixtures.database import available_redis_url
from tests.fixtures.network import refusing_port
from tests.fixtures.tcp_proxy import TcpProxy
from tests.fixtures.waiting import eventually

REDIS_URL = available_redis_url()
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")
# RedisBus's subscribe timeout: the old answer came only once it had passed.
SUBSCRIBE_TIMEOUT_SECONDS = 3.0


async def test_live_events_with_redis_away_are_a_503_with_retry_after(
    settings_factory: Callable[..., Settings],
) -> None:
    with refusing_port() as port:
        settings = settings_factory(redis_url=f"redis://127.0.0.1:{port}/0")
        ctx = build_context(settings)
        app = create_app(settings, context=ctx)
        async with LifespanManager(app, shutdown_timeout=30) as manager:
            harness = Harness(app, ctx, _client(manager.app), settings)
            async with harness.client:
                user = await harness.user("events@example.com")
                started = time.monotonic()
                response = await harness.client.get("/switchboard/v1/events", headers=user.headers)
                elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "event_bus_unavailable"
    assert elapsed < SUBSCRIBE_TIMEOUT_SECONDS


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


class Runs:
    """A consumer's `run` callback: the ids it was given."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def __call__(self, job_id: str) -> None:
        self.ids.append(job_id)


@pytest.fixture
async def stream() -> AsyncIterator[str]:
    """A fresh stream name, removed after the test."""
    name = f"switchboard:test-jobs:{new_id()}"
    yield name
    assert REDIS_URL is not None
    async with Redis.from_url(REDIS_URL) as redis:
        await redis.delete(name)


@needs_redis
async def test_a_job_sent_while_redis_was_away_is_sent_when_it_is_back(stream: str) -> None:
    assert REDIS_URL is not None
    target = make_url(REDIS_URL)
    proxy = TcpProxy((target.host or "127.0.0.1", target.port or 6379))
    proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    producer = RedisJobQueue(proxied, stream=stream)
    worker = RedisJobQueue(REDIS_URL, stream=stream)
    runs = Runs()
    try:
        await producer.start(None)
        await worker.start(runs)
        await producer.enqueue("before")
        await eventually(lambda: runs.ids == ["before"])
        proxy.cut()
        await producer.enqueue("during")  # fails softly: Redis is away
        proxy.restore()
        # No sweeper runs here: only the queue itself can send it again.
        await eventually(lambda: runs.ids == ["before", "during"], timeout=5)
    finally:
        await producer.stop()
        await worker.stop()
        proxy.close()
