"""The rate-limit port: counters per named rule and key, shared by every replica."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one hit, with what rate-limit headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window lets the next request through."""
        return max(1, math.ceil(self.reset_at - time.time()))


class RateLimiter(Protocol):
    """Counts requests against rates such as "60/minute"."""

    degraded: bool  # the shared storage failed and this process counts on its own

    async def hit(self, rate: str, *key: str) -> RateDecision:
        """Count one request against `rate` for `key`."""
        ...

    async def peek(self, rate: str, *key: str) -> RateDecision:
        """The state of `rate` for `key` without counting a hit."""
        ...

    async def ping(self) -> None:
        """Raise when the shared storage is configured but unreachable."""
        ...

    async def reset(self) -> None:
        """Forget every counter (tests)."""
        ...

    async def aclose(self) -> None:
        """Close the shared storage's connections (the app is stopping)."""
        ...
