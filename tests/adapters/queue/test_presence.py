"""Worker heartbeats in a real Redis: a key per worker under the prefix, lapsing by the
caller's clock (moved by hand), gone at once on a graceful stop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from switchboard.adapters.queue.presence import RedisWorkerPresence
from switchboard.kit.ids import new_id
from tests.fixtures.clock import ManualClock
from tests.fixtures.database import available_redis_url
from tests.fixtures.network import refusing_port

REDIS_URL = available_redis_url()
pytestmark = pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    prefix = f"switchboard:test:{new_id()}"
    yield prefix
    assert REDIS_URL is not None
    async with Redis.from_url(REDIS_URL) as redis:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
async def presence(prefix: str) -> AsyncIterator[RedisWorkerPresence]:
    assert REDIS_URL is not None
    made = RedisWorkerPresence(REDIS_URL, prefix=prefix)
    yield made
    await made.aclose()


async def test_a_beat_is_alive_until_it_lapses(presence: RedisWorkerPresence) -> None:
    clock = ManualClock()
    await presence.beat("host-a:1", clock.now(), 30.0)
    await presence.beat("host-b:2", clock.now(), 60.0)
    assert await presence.alive(clock.now()) == ["host-a:1", "host-b:2"]
    clock.advance(31)
    assert await presence.alive(clock.now()) == ["host-b:2"]
    await presence.beat("host-a:1", clock.now(), 30.0)
    assert await presence.alive(clock.now()) == ["host-a:1", "host-b:2"]


async def test_every_key_lives_under_the_prefix_and_expires(
    presence: RedisWorkerPresence, prefix: str
) -> None:
    await presence.beat("host-a:1", ManualClock().now(), 30.0)
    assert REDIS_URL is not None
    async with Redis.from_url(REDIS_URL) as redis:
        keys = sorted([key.decode() async for key in redis.scan_iter(match=f"{prefix}*")])
        assert keys == [f"{prefix}:worker:host-a:1", f"{prefix}:workers"]
        for key in keys:
            assert 0 < await redis.pttl(key) <= 30_000


async def test_leaving_is_seen_at_once(presence: RedisWorkerPresence) -> None:
    clock = ManualClock()
    await presence.beat("host-a:1", clock.now(), 30.0)
    await presence.leave("host-a:1")
    assert await presence.alive(clock.now()) == []


async def test_a_worker_whose_key_expired_is_forgotten(
    presence: RedisWorkerPresence, prefix: str
) -> None:
    clock = ManualClock()
    await presence.beat("host-a:1", clock.now(), 30.0)
    assert REDIS_URL is not None
    async with Redis.from_url(REDIS_URL) as redis:
        await redis.delete(f"{prefix}:worker:host-a:1")  # as Redis's expiry would
        assert await presence.alive(clock.now()) == []
        assert await redis.smembers(f"{prefix}:workers") == set()


async def test_deployments_with_other_prefixes_are_not_counted(
    presence: RedisWorkerPresence,
) -> None:
    assert REDIS_URL is not None
    other = RedisWorkerPresence(REDIS_URL, prefix=f"switchboard:test:{new_id()}")
    clock = ManualClock()
    try:
        await other.beat("elsewhere:1", clock.now(), 30.0)
        assert await presence.alive(clock.now()) == []
    finally:
        await other.leave("elsewhere:1")
        await other.aclose()


async def test_an_unreachable_redis_is_a_connection_error() -> None:
    with refusing_port() as port:
        presence = RedisWorkerPresence(f"redis://127.0.0.1:{port}/0", prefix="switchboard:test")
        try:
            with pytest.raises(ConnectionError):
                await presence.alive(ManualClock().now())
            with pytest.raises(ConnectionError):
                await presence.beat("host-a:1", ManualClock().now(), 30.0)
        finally:
            await presence.aclose()
