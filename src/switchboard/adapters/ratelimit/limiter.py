"""Rate limits with the `limits` library: in memory, or in Redis shared by all replicas.

When Redis cannot be reached the limiter falls back to per-process counters instead of
letting everything through (limiters that fail open are an advisory class), and reports
itself degraded so that `/ready` can say so. In memory, the counters live in
`ProcessCounters`, a storage made for the hot path (see its module).
"""

from __future__ import annotations

from typing import Any

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from switchboard.adapters.ratelimit.counters import ProcessCounters
from switchboard.core.ops.ratelimit import RateDecision

log = structlog.get_logger(__name__)


class LimitsRateLimiter:
    """`core.ops.ratelimit.RateLimiter` on `limits`; shared through Redis when a URL is given,
    its keys under `namespace`."""

    def __init__(self, redis_url: str | None = None, *, namespace: str = "switchboard") -> None:
        self._memory = SlidingWindowCounterRateLimiter(ProcessCounters())
        self._shared: SlidingWindowCounterRateLimiter | None = None
        if redis_url:
            # wrap_exceptions: Redis failures arrive as StorageError, so the redis client is
            # only imported when Redis is configured.
            # Short timeouts: a slow Redis must not hold up requests; the limiter falls
            # back to this process's own counters instead.
            storage: Storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                # Under the deployment's namespace (SWITCHBOARD_REDIS_PREFIX): deployments
                # sharing one Redis keep their own counters.
                key_prefix=f"{namespace}:ratelimit",
                wrap_exceptions=True,
                socket_connect_timeout=2.0,
                socket_timeout=1.0,
            )
            self._shared = SlidingWindowCounterRateLimiter(storage)
        self.degraded = False
        self._items: dict[str, RateLimitItem] = {}

    async def hit(self, rate: str, *key: str) -> RateDecision:
        """Count one request against `rate` (e.g. "60/minute") for `key`."""
        item = self._items.get(rate) or self._items.setdefault(rate, parse(rate))
        limiter = self._shared or self._memory
        try:
            decision = await self._hit(limiter, item, key)
            if limiter is self._shared and self.degraded:
                self.degraded = False
                log.info("rate_limit_storage_recovered")
            return decision
        except (StorageError, OSError):
            if not self.degraded:
                log.warning("rate_limit_storage_unavailable_falling_back_to_memory")
            self.degraded = True
            return await self._hit(self._memory, item, key)

    async def peek(self, rate: str, *key: str) -> RateDecision:
        """The state of `rate` for `key` without counting a hit (e.g. failed sign-ins)."""
        item = self._items.get(rate) or self._items.setdefault(rate, parse(rate))
        limiter = self._shared or self._memory
        try:
            return await self._peek(limiter, item, key)
        except (StorageError, OSError):
            self.degraded = True
            return await self._peek(self._memory, item, key)

    async def ping(self) -> None:
        """Raise when the shared storage is configured but unreachable."""
        if self._shared is not None and not await self._shared.storage.check():
            raise ConnectionError("rate-limit storage unreachable")

    async def aclose(self) -> None:
        """Close the Redis connections, if Redis is configured."""
        if self._shared is None:
            return
        # `limits` keeps its redis-py client on the storage's bridge and offers no close:
        # without this, its pooled connections were left to the garbage collector.
        client: Any = getattr(getattr(self._shared.storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()

    async def reset(self) -> None:
        """Forget every counter (tests)."""
        await self._memory.storage.reset()
        if self._shared is not None:
            await self._shared.storage.reset()

    @staticmethod
    async def _peek(
        limiter: SlidingWindowCounterRateLimiter, item: RateLimitItem, key: tuple[str, ...]
    ) -> RateDecision:
        allowed = await limiter.test(item, *key)
        stats = await limiter.get_window_stats(item, *key)
        return RateDecision(allowed, item.amount, stats.remaining, stats.reset_time)

    @staticmethod
    async def _hit(
        limiter: SlidingWindowCounterRateLimiter, item: RateLimitItem, key: tuple[str, ...]
    ) -> RateDecision:
        allowed = await limiter.hit(item, *key)
        stats = await limiter.get_window_stats(item, *key)
        return RateDecision(allowed, item.amount, stats.remaining, stats.reset_time)
