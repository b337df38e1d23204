"""The credential cache: bounded in age and size, invalidated by user, session or key."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.principal import Principal
from tests.fixtures.clock import ManualClock


def principal(user_id: str = "u1", **kwargs: str) -> Principal:
    return Principal(user_id=user_id, email=f"{user_id}@example.com", **kwargs)  # type: ignore[arg-type]


class TestGetPut:
    def test_hit_within_ttl(self) -> None:
        clock = ManualClock()
        cache = CredentialCache(ttl_seconds=5, monotonic=clock.monotonic)
        cache.put("d", principal())
        clock.advance(4.9)
        assert cache.get("d") == principal()

    def test_miss_after_ttl(self) -> None:
        clock = ManualClock()
        cache = CredentialCache(ttl_seconds=5, monotonic=clock.monotonic)
        cache.put("d", principal())
        clock.advance(5)
        assert cache.get("d") is None
        assert len(cache) == 0

    def test_never_outlives_the_credential(self) -> None:
        clock = ManualClock()
        cache = CredentialCache(ttl_seconds=5, monotonic=clock.monotonic)
        cache.put("d", principal(), max_age=1)
        clock.advance(1)
        assert cache.get("d") is None

    def test_already_expired_credential_is_not_stored(self) -> None:
        cache = CredentialCache()
        cache.put("d", principal(), max_age=0)
        cache.put("e", principal(), max_age=-10)
        assert len(cache) == 0

    def test_jitter_only_shortens(self) -> None:
        clock = ManualClock()
        start = clock.monotonic()
        cache = CredentialCache(ttl_seconds=5, monotonic=clock.monotonic, ttl_jitter=0.2)
        for n in range(200):
            cache.put(str(n), principal(), max_age=3 if n % 2 else None)
        clock.advance(2.4)  # below 3 * 0.8: every entry is still there
        assert all(cache.get(str(n)) is not None for n in range(200))
        clock.advance(3 - clock.elapsed)
        assert all(cache.get(str(n)) is None for n in range(1, 200, 2))
        lifetimes = {cache._entries[str(n)].deadline - start for n in range(0, 200, 2)}
        assert all(4.0 <= age <= 5.0 for age in lifetimes)
        assert len(lifetimes) > 1  # spread, not one shared expiry

    def test_jitter_must_be_a_fraction(self) -> None:
        with pytest.raises(ValueError, match="ttl_jitter"):
            CredentialCache(ttl_jitter=1.0)

    def test_bounded_size_evicts_least_recently_used(self) -> None:
        cache = CredentialCache(max_entries=2)
        cache.put("a", principal("a"))
        cache.put("b", principal("b"))
        assert cache.get("a") is not None  # a is now the most recent
        cache.put("c", principal("c"))
        assert cache.get("b") is None
        assert cache.get("a") is not None
        assert cache.get("c") is not None


class TestInvalidate:
    def test_by_user(self) -> None:
        cache = CredentialCache()
        cache.put("a", principal("u1"))
        cache.put("b", principal("u1", api_key_id="k1"))
        cache.put("c", principal("u2"))
        assert cache.invalidate_user("u1") == 2
        assert cache.get("c") is not None

    def test_by_session(self) -> None:
        cache = CredentialCache()
        cache.put("a", principal(session_id="s1"))
        cache.put("b", principal(session_id="s2"))
        assert cache.invalidate_session("s1") == 1
        assert cache.get("a") is None
        assert cache.get("b") is not None

    def test_by_api_key(self) -> None:
        cache = CredentialCache()
        cache.put("a", principal(api_key_id="k1"))
        assert cache.invalidate_api_key("k1") == 1
        assert cache.get("a") is None

    def test_clear(self) -> None:
        cache = CredentialCache()
        cache.put("a", principal())
        cache.clear()
        assert len(cache) == 0


class TestShared:
    async def test_concurrent_callers_share_one_verification(self) -> None:
        cache = CredentialCache()
        calls = 0
        release = asyncio.Event()

        async def verify() -> Principal:
            nonlocal calls
            calls += 1
            await release.wait()
            return principal()

        waiters = [asyncio.create_task(cache.shared("d", verify)) for _ in range(64)]
        # One turn of the loop, no time: every caller reaches `shared` before the release.
        await asyncio.sleep(0)
        release.set()
        assert await asyncio.gather(*waiters) == [principal()] * 64
        assert calls == 1
        assert cache.inflight == {}

    async def test_failures_are_not_shared(self) -> None:
        cache = CredentialCache()
        calls = 0
        release = asyncio.Event()

        async def verify() -> Principal:
            nonlocal calls
            calls += 1
            if calls == 1:
                await release.wait()
                raise LookupError("first one fails")
            return principal()

        # Each yield is one turn of the loop, no time: the first caller is verifying, then
        # the second has joined it, before the release.
        first = asyncio.create_task(cache.shared("d", verify))
        await asyncio.sleep(0)
        second = asyncio.create_task(cache.shared("d", verify))
        await asyncio.sleep(0)
        release.set()
        with pytest.raises(LookupError):
            await first
        assert await second == principal()
        assert calls == 2
        assert cache.inflight == {}

    async def test_a_cancelled_waiter_does_not_cancel_the_first_caller(self) -> None:
        cache = CredentialCache()
        release = asyncio.Event()

        async def verify() -> Principal:
            await release.wait()
            return principal()

        # Each yield is one turn of the loop, no time: the first caller is verifying, then
        # the waiter has joined it, before the cancel.
        first = asyncio.create_task(cache.shared("d", verify))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(cache.shared("d", verify))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        release.set()
        assert await first == principal()

    async def test_invalidation_stops_new_callers_joining(self) -> None:
        cache = CredentialCache()
        calls = 0
        release = asyncio.Event()

        async def verify() -> Principal:
            nonlocal calls
            calls += 1
            await release.wait()
            return principal()

        # Each yield is one turn of the loop, no time: the first caller is verifying, then
        # the second has arrived after the invalidation, before the release.
        first = asyncio.create_task(cache.shared("d", verify))
        await asyncio.sleep(0)
        cache.invalidate_user("someone else")
        second = asyncio.create_task(cache.shared("d", verify))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, second)
        assert calls == 2
        assert cache.inflight == {}
