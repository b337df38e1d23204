"""Buses under test: the in-process one always, Redis when one answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from switchboard.adapters.bus.memory import MemoryBus
from switchboard.adapters.bus.redis import RedisBus
from tests.fixtures.database import WORKER, available_redis_url

REDIS_URL = available_redis_url()
# Pub/sub channels are shared by every Redis database: parallel test workers must not
# hear each other's fixed topic names.
PREFIX = f"switchboard:test-events:{WORKER or 'main'}:"
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")


@pytest.fixture
async def redis_buses() -> AsyncIterator[Callable[..., RedisBus]]:
    """Make Redis buses (each one a 'replica'); all closed after the test."""
    assert REDIS_URL is not None
    made: list[RedisBus] = []

    def make(**options: object) -> RedisBus:
        options.setdefault("prefix", PREFIX)
        bus = RedisBus(REDIS_URL, **options)  # type: ignore[arg-type]
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=needs_redis)])
async def bus(
    request: pytest.FixtureRequest,
) -> AsyncIterator[MemoryBus | RedisBus]:
    """Each bus kind, for the contract every bus keeps."""
    made: MemoryBus | RedisBus = (
        MemoryBus() if request.param == "memory" else RedisBus(REDIS_URL or "", prefix=PREFIX)
    )
    yield made
    await made.aclose()
