"""Rate limits with the `limits` library: in memory, or in Redis shared by all replicas.

When Redis cannot be reached the limiter falls back to per-process counters instead of
letting everything through (limiters that fail open are an advisory class), and reports
itself degraded so that `/ready` can say so. In memory, the counters live in
`ProcessCounters`, a storage made for the hot path (see its module).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from starlette.types import Scope

from switchboard.api.ratelimit_memory import ProcessCounters
from switchboard.core.errors import RateLimited

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one hit, with what the `X-RateLimit-*` headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window lets the next request through."""
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> list[tuple[bytes, bytes]]:
        """`X-RateLimit-*` as raw ASGI headers (faces add `Retry-After` to their 429s)."""
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(max(self.remaining, 0)).encode()),
            (b"x-ratelimit-reset", str(math.ceil(self.reset_at)).encode()),
        ]


class RateLimiter:
    """Hits named limits per key; shared through Redis when a URL is given."""

    def __init__(self, redis_url: str | None = None) -> None:
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

    async def check(self, scope: Scope, rate: str, *key: str) -> None:
        """Hit `rate` for `key`, remember the headers for the response, raise when over."""
        decision = await self.hit(rate, *key)
        scope.setdefault("state", {})["ratelimit"] = decision
        if not decision.allowed:
            raise RateLimited(
                "Rate limit exceeded. Try again later.",
                code="rate_limit_exceeded",
                retry_after=decision.retry_after,
            )

    async def ping(self) -> None:
        """Raise when the shared storage is configured but unreachable."""
        if self._shared is not None and not await self._shared.storage.check():
            raise ConnectionError("rate-limit storage unreachable")

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
