"""Errors of the analysis domain."""

from __future__ import annotations

from switchboard.core.errors import ERROR_CLASSES, ErrorKind, RateLimited, SwitchboardError


class QueryLimitExceeded(RateLimited):
    """The user has used every query of this month's quota."""

    default_code = "query_limit_exceeded"

    def __init__(self, used: int, limit: int, retry_after: float | None = None) -> None:
        super().__init__(
            f"Query limit exceeded. Used {used}/{limit} queries.", retry_after=retry_after
        )
        self.used = used
        self.limit = limit


# Why a provider call of an analysis failed: one code per cause a user can act on, so
# that faces can word each cause their own way (the job row keeps the code too).
FAILURE_RATE_LIMITED = "analysis_rate_limited"
FAILURE_AUTH = "analysis_auth_failed"
FAILURE_TIMEOUT = "analysis_timeout"
FAILURE_UNAVAILABLE = "analysis_unavailable"
FAILURE_INTERNAL = "analysis_failed"

FAILURE_MESSAGES: dict[str, str] = {
    FAILURE_RATE_LIMITED: "The AI provider is rate limiting requests",
    FAILURE_AUTH: "The AI provider refused the credentials",
    FAILURE_TIMEOUT: "The AI provider did not answer in time",
    FAILURE_UNAVAILABLE: "The AI provider is unavailable",
    FAILURE_INTERNAL: "The analysis failed",
}


def analysis_failure(exc: SwitchboardError) -> SwitchboardError:
    """The same kind of error (so the same retries) with the code of its cause.

    Upstream messages are never passed on: they can name hosts, keys or internals.
    """
    if exc.kind == ErrorKind.RATE_LIMITED:
        code = FAILURE_RATE_LIMITED
    elif exc.kind == ErrorKind.TIMEOUT:
        code = FAILURE_TIMEOUT
    elif exc.kind == ErrorKind.UPSTREAM_REJECTED and exc.upstream_status in (401, 403):
        code = FAILURE_AUTH
    elif exc.kind == ErrorKind.UPSTREAM_UNAVAILABLE:
        code = FAILURE_UNAVAILABLE
    else:
        code = FAILURE_INTERNAL
    return ERROR_CLASSES[exc.kind](
        FAILURE_MESSAGES[code],
        code=code,
        retry_after=exc.retry_after,
        upstream_status=exc.upstream_status,
    )
