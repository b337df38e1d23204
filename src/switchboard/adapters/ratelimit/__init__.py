"""Rate-limit counters on the `limits` library: in this process, or in Redis."""

from switchboard.adapters.ratelimit.limiter import LimitsRateLimiter

__all__ = ["LimitsRateLimiter"]
