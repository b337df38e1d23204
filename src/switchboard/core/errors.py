"""One error family for the whole core.

Every expected failure is a `SwitchboardError` of one of the kinds below. Faces map each
kind to their documented status and envelope; nothing expected ever becomes a 500.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """What went wrong, in terms every face can map to its own status codes."""

    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    RATE_LIMITED = "rate_limited"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    UPSTREAM_REJECTED = "upstream_rejected"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"  # switchboard itself, for a moment: a store away, shutting down


class SwitchboardError(Exception):
    """An expected failure: a kind, a stable machine code and a user-safe message."""

    kind: ErrorKind = ErrorKind.INVALID
    default_code: str = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        # The input field at fault, when there is one (OpenAI's `param`, validation errors).
        self.param = param
        # Seconds a client should wait (rate limits, upstream 429s).
        self.retry_after = retry_after
        # The upstream's HTTP status, for faces whose documents surface it.
        self.upstream_status = upstream_status


class NotFound(SwitchboardError):
    """The thing does not exist, or belongs to someone else (never say which)."""

    kind = ErrorKind.NOT_FOUND
    default_code = "not_found"


class Conflict(SwitchboardError):
    """The request clashes with the current state (duplicate, wrong status)."""

    kind = ErrorKind.CONFLICT
    default_code = "conflict"


class Invalid(SwitchboardError):
    """The input breaks a rule that schema validation cannot see."""

    kind = ErrorKind.INVALID
    default_code = "invalid"


class Unauthenticated(SwitchboardError):
    """No credentials, or credentials that are not valid."""

    kind = ErrorKind.UNAUTHENTICATED
    default_code = "unauthenticated"


class PermissionDenied(SwitchboardError):
    """Valid credentials that may not do this (missing scope, not an admin)."""

    kind = ErrorKind.PERMISSION_DENIED
    default_code = "permission_denied"


class RateLimited(SwitchboardError):
    """Too many requests, here or upstream."""

    kind = ErrorKind.RATE_LIMITED
    default_code = "rate_limited"


class UpstreamUnavailable(SwitchboardError):
    """The provider could not be reached, failed (5xx) or broke the stream."""

    kind = ErrorKind.UPSTREAM_UNAVAILABLE
    default_code = "upstream_unavailable"


class UpstreamRejected(SwitchboardError):
    """The provider refused the request: bad key, bad request, unknown model."""

    kind = ErrorKind.UPSTREAM_REJECTED
    default_code = "upstream_rejected"


class Timeout(SwitchboardError):
    """The provider did not answer in time."""

    kind = ErrorKind.TIMEOUT
    default_code = "timeout"


class ServiceUnavailable(SwitchboardError):
    """switchboard cannot serve this now but will shortly: its database or event bus is
    away, or this process is stopping. Says when to try again."""

    kind = ErrorKind.UNAVAILABLE
    default_code = "service_unavailable"


ERROR_CLASSES: dict[ErrorKind, type[SwitchboardError]] = {
    cls.kind: cls
    for cls in (
        NotFound,
        Conflict,
        Invalid,
        Unauthenticated,
        PermissionDenied,
        RateLimited,
        UpstreamUnavailable,
        UpstreamRejected,
        Timeout,
        ServiceUnavailable,
    )
}

RETRYABLE_KINDS = frozenset(
    {
        ErrorKind.UPSTREAM_UNAVAILABLE,
        ErrorKind.RATE_LIMITED,
        ErrorKind.TIMEOUT,
        ErrorKind.UNAVAILABLE,
    }
)
