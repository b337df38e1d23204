"""Errors of the analysis domain."""

from __future__ import annotations

from switchboard.core.errors import RateLimited


class QueryLimitExceeded(RateLimited):
    """The user has used every query of this month's quota."""

    default_code = "query_limit_exceeded"

    def __init__(self, used: int, limit: int, retry_after: float | None = None) -> None:
        super().__init__(
            f"Query limit exceeded. Used {used}/{limit} queries.", retry_after=retry_after
        )
        self.used = used
        self.limit = limit
