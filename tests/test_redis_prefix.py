"""SWITCHBOARD_REDIS_PREFIX (issue 12, item 6): every Redis key, stream and channel of a
deployment lives under its prefix, so that two deployments share one Redis without
hearing each other's events or spending each other's rate limits, while replicas of
one deployment (same prefix) share both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis

from switchboard.adapters.bus.redis import RedisBus
from switchboard.api.realtime.socketio import manager_channel
from switchboard.config import Settings
from switchboard.core.events.schemas import Event, user_topic
from switchboard.kit.ids import new_id
from tests.fixtures.app import Harness
from tests.fixtures.database import available_redis_url

REDIS_URL = available_redis_url()
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")
StartApp = Callable[..., Awaitable[Harness]]


# -- the default ----------------------------------------------------------------------------


def test_without_a_database_url_the_prefix_is_switchboard() -> None:
    assert Settings(database_url=None).resolved_redis_prefix == "switchboard"


def test_the_default_follows_where_the_database_is_never_its_password() -> None:
    def prefix(url: str) -> str:
        return Settings(database_url=url).resolved_redis_prefix

    one = prefix("postgresql+asyncpg://sb:secret@db.example:5432/switchboard")
    assert one.startswith("switchboard:") and len(one) == len("switchboard:") + 8
    assert "secret" not in one
    # Replicas of one deployment agree, whatever password or user they connect with.
    assert prefix("postgresql+asyncpg://other:changed@db.example:5432/switchboard") == one
    # Another database, host or port is another deployment.
    assert prefix("postgresql+asyncpg://sb:secret@db.example:5432/staging") != one
    assert prefix("postgresql+asyncpg://sb:secret@db2.example:5432/switchboard") != one
    assert prefix("postgresql+asyncpg://sb:secret@db.example:5433/switchboard") != one


def test_an_explicit_prefix_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_REDIS_PREFIX", "acme-staging")
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", "postgresql+asyncpg://db/x")
    assert Settings().resolved_redis_prefix == "acme-staging"


async def test_the_socketio_channel_lives_under_the_bus_namespace() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", namespace="acme")
    try:
        assert manager_channel(bus) == "acme:socketio"
    finally:
        await bus.aclose()


# -- two deployments on one Redis ----------------------------------------------------------


@pytest.fixture
async def three_apps(harness_factory: StartApp) -> tuple[Harness, Harness, Harness]:
    """Deployment A (two replicas: `a` and `a2`) and deployment B (`b`), on one Redis."""
    first, second = f"sbtest-{new_id()}", f"sbtest-{new_id()}"
    rate = {"redis_url": REDIS_URL, "rate_limit_default": "2/hour"}
    a = await harness_factory(redis_prefix=first, **rate)
    a2 = await harness_factory(redis_prefix=first, **rate)
    b = await harness_factory(redis_prefix=second, **rate)
    return a, a2, b


@needs_redis
async def test_events_stay_within_a_deployment(
    three_apps: tuple[Harness, Harness, Harness],
) -> None:
    a, a2, b = three_apps
    topic = user_topic(new_id())
    replica = await a2.ctx.bus.subscribe([topic])
    other = await b.ctx.bus.subscribe([topic])
    try:
        await a.ctx.bus.publish(Event(topic=topic, type="job.progress", data={"from": "a"}))
        got = await anext(aiter(replica))
        assert got.data == {"from": "a"}
        # Redis had sent A's event to every subscriber of its channel before the replica
        # got it: had B's listener been one, it would come before B's own marker.
        await b.ctx.bus.publish(Event(topic=topic, type="job.progress", data={"from": "b"}))
        assert (await anext(aiter(other))).data == {"from": "b"}
    finally:
        await replica.close()
        await other.close()


@needs_redis
async def test_channels_and_keys_are_named_under_the_prefix(
    three_apps: tuple[Harness, Harness, Harness],
) -> None:
    a, _, _ = three_apps
    prefix = a.settings.resolved_redis_prefix
    topic = user_topic(new_id())
    sub = await a.ctx.bus.subscribe([topic])
    user = await a.user("prefix@example.com")
    await a.client.get("/v1/models", headers=user.headers)
    try:
        async with Redis.from_url(REDIS_URL or "") as redis:
            channels = {_text(c) for c in await redis.pubsub_channels(f"{prefix}:*")}
            keys = [_text(k) async for k in redis.scan_iter(match=f"{prefix}:*")]
    finally:
        await sub.close()
    assert f"{prefix}:events:{topic}" in channels
    assert any(key.startswith(f"{prefix}:ratelimit:") for key in keys)


@needs_redis
async def test_rate_limits_are_counted_per_deployment(
    three_apps: tuple[Harness, Harness, Harness],
) -> None:
    a, a2, b = three_apps
    user = await a.user("limits@example.com")

    async def status(app: Harness) -> int:
        return (await app.client.get("/v1/models", headers=user.headers)).status_code

    assert [await status(a), await status(a)] == [200, 200]
    assert await status(a2) == 429  # a replica of A: A's counter is spent
    assert await status(b) == 200  # another deployment counts its own


def _text(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else name
