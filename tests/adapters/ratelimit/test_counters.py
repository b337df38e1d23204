"""`ProcessCounters` against `limits`' own memory storage, on the same clock."""

from __future__ import annotations

import time

import pytest
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter

from switchboard.adapters.ratelimit import counters
from switchboard.adapters.ratelimit.counters import ProcessCounters
from tests.fixtures.clock import ManualClock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    # Both storages and `limits`' strategies read `time.time()`.
    fake = ManualClock()
    monkeypatch.setattr(time, "time", fake.time)
    return fake


# Offsets in seconds from the start, across three 10-second windows and into a fourth.
STEPS = [0.0, 0.1, 1.0, 2.5, 4.0, 9.9, 10.0, 10.5, 12.0, 15.0, 19.99, 21.0, 24.0, 29.0, 45.0]


async def test_hits_and_window_stats_match_limits_memory_storage(clock: ManualClock) -> None:
    item = parse("5/10seconds")
    ours = SlidingWindowCounterRateLimiter(ProcessCounters())
    theirs = SlidingWindowCounterRateLimiter(MemoryStorage())
    for offset in STEPS:
        clock.advance(offset - clock.elapsed)
        for _ in range(3):
            assert await ours.hit(item, "user") == await theirs.hit(item, "user"), offset
            assert await ours.get_window_stats(item, "user") == await theirs.get_window_stats(
                item, "user"
            ), offset
        assert await ours.test(item, "user") == await theirs.test(item, "user"), offset


async def test_a_refused_hit_is_not_counted(clock: ManualClock) -> None:
    item = parse("2/minute")
    limiter = SlidingWindowCounterRateLimiter(ProcessCounters())
    assert [await limiter.hit(item, "k") for _ in range(4)] == [True, True, False, False]
    assert (await limiter.get_window_stats(item, "k")).remaining == 0
    assert await limiter.hit(item, "other")  # keys are separate


async def test_passed_windows_are_swept(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counters, "SWEEP_EVERY", 2)
    storage = ProcessCounters()
    limiter = SlidingWindowCounterRateLimiter(storage)
    item = parse("100/second")
    await limiter.hit(item, "old")
    clock.advance(5)  # two windows later: "old" no longer weighs anything
    await limiter.hit(item, "new")
    assert await storage.reset() == 1  # only "new" was left


async def test_fixed_window_counters(clock: ManualClock) -> None:
    storage = ProcessCounters()
    limiter = FixedWindowRateLimiter(storage)
    item = parse("2/minute")
    assert [await limiter.hit(item, "k") for _ in range(3)] == [True, True, False]
    stats = await limiter.get_window_stats(item, "k")
    assert stats.remaining == 0
    assert stats.reset_time == pytest.approx(clock.time() + 60)
    clock.advance(61)
    assert await limiter.hit(item, "k")
    await limiter.clear(item, "k")
    assert await storage.get(item.key_for("k")) == 0
    assert await storage.check()
