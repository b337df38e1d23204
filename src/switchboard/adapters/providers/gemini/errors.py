"""Gemini failures as core error kinds, translated at the adapter edge.

The key travels in the x-goog-api-key header, never in a URL, and these messages carry
only the provider, the HTTP status and Google's status name: never the key, a URL or
the raw upstream body, which may echo the request.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pydantic
from google.genai import errors as genai_errors

from switchboard.adapters.http import (
    TRANSPORT_ERRORS,
    BlockedUrl,
    blocked_cause,
    blocked_error,
    parse_retry_after,
    status_error,
)
from switchboard.adapters.providers import common
from switchboard.core.errors import SwitchboardError, UpstreamRejected

WHAT = "Gemini"

# Everything the SDK, its HTTP stack or its JSON decoding can raise for a bad upstream.
VENDOR_ERRORS: tuple[type[BaseException], ...] = (
    genai_errors.APIError,
    genai_errors.UnknownApiResponseError,
    genai_errors.ContinuationInterruptedError,
    BlockedUrl,
    json.JSONDecodeError,
    pydantic.ValidationError,
    *TRANSPORT_ERRORS,
)

# Google answers a wrong key with 400 INVALID_ARGUMENT; the ErrorInfo reason says why.
_AUTH_REASONS = {"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"}


def _details(exc: genai_errors.APIError) -> list[dict[str, Any]]:
    body = exc.details if isinstance(exc.details, dict) else {}
    error = body.get("error", body)
    details = error.get("details") if isinstance(error, dict) else None
    return [d for d in details or [] if isinstance(d, dict)]


def _retry_after(exc: genai_errors.APIError) -> float | None:
    """Retry-After, else google.rpc.RetryInfo's retryDelay ("30s")."""
    headers = getattr(exc.response, "headers", None)
    if headers is not None and (seconds := parse_retry_after(dict(headers))) is not None:
        return seconds
    for detail in _details(exc):
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and (match := re.fullmatch(r"(\d+(?:\.\d+)?)s", delay)):
            return float(match.group(1))
    return None


def from_api_error(exc: genai_errors.APIError) -> SwitchboardError:
    """The core error for a Gemini HTTP error answer."""
    status = int(exc.code or 500)
    if status not in (401, 403) and any(d.get("reason") in _AUTH_REASONS for d in _details(exc)):
        return UpstreamRejected(
            f"{WHAT} rejected the credentials (HTTP {status})",
            code="upstream_auth",
            upstream_status=status,
        )
    return status_error(status, what=WHAT, retry_after=_retry_after(exc))


def translate(exc: BaseException) -> SwitchboardError:
    """The core error for anything in `VENDOR_ERRORS`."""
    blocked = blocked_cause(exc)
    if blocked is not None:
        return blocked_error(blocked)
    if isinstance(exc, genai_errors.APIError):
        return from_api_error(exc)
    return common.transport_error(exc, WHAT)
