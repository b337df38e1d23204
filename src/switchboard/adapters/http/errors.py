"""Turning HTTP outcomes into core error kinds, without ever quoting the upstream."""

from __future__ import annotations

import email.utils
import math
import ssl
import time
from collections.abc import Mapping

import anyio
import httpx
import httpx2

from switchboard.core.errors import (
    Invalid,
    RateLimited,
    SwitchboardError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from switchboard.kit.netpolicy import BlockedUrl

MAX_RETRY_AFTER = 3600.0

# What a transport can raise while a response body is read (SDKs do not always wrap it):
# adapters catch these so a dropped connection becomes `UpstreamUnavailable`.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    httpx2.HTTPError,
    httpx.HTTPError,
    anyio.EndOfStream,
    anyio.BrokenResourceError,
    ssl.SSLError,
)
TIMEOUT_ERRORS: tuple[type[BaseException], ...] = (httpx2.TimeoutException, httpx.TimeoutException)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` / `retry-after` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return _clamp(float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return _clamp(float(raw))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return _clamp(parsed.timestamp() - time.time())


def _clamp(seconds: float) -> float | None:
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def status_error(
    status: int, *, what: str = "the provider", retry_after: float | None = None
) -> SwitchboardError:
    """The core error for an upstream HTTP status (the body is never quoted)."""
    if status in (401, 403):
        return UpstreamRejected(
            f"{what} rejected the credentials (HTTP {status})",
            code="upstream_auth",
            upstream_status=status,
        )
    if status == 429:
        return RateLimited(
            f"{what} is rate limiting requests",
            code="upstream_rate_limited",
            retry_after=retry_after,
            upstream_status=status,
        )
    if status >= 500 or status in (408, 409):
        return UpstreamUnavailable(f"{what} failed (HTTP {status})", upstream_status=status)
    return UpstreamRejected(f"{what} refused the request (HTTP {status})", upstream_status=status)


def blocked_error(exc: BlockedUrl) -> Invalid:
    """The core error for a URL the outbound policy refuses."""
    return Invalid(str(exc), code="url_not_allowed")


def blocked_cause(exc: BaseException) -> BlockedUrl | None:
    """The `BlockedUrl` somewhere in `exc`'s cause/context chain (SDKs wrap it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, BlockedUrl):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
