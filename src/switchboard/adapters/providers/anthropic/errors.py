"""Anthropic failures as core error kinds, translated at the adapter edge.

Messages are ours, never the upstream's: they name the provider and the HTTP status,
never the key, a header or the raw upstream body.
"""

from __future__ import annotations

import json

import anthropic
import pydantic

from switchboard.adapters.http import (
    TRANSPORT_ERRORS,
    BlockedUrl,
    blocked_cause,
    blocked_error,
    parse_retry_after,
    status_error,
)
from switchboard.adapters.providers import common
from switchboard.core.errors import SwitchboardError

WHAT = "Anthropic"

# Everything the SDK, its HTTP stack or its SSE decoding can raise for a bad upstream.
VENDOR_ERRORS: tuple[type[BaseException], ...] = (
    anthropic.AnthropicError,
    BlockedUrl,
    json.JSONDecodeError,  # an SSE data line that is not JSON
    pydantic.ValidationError,
    *TRANSPORT_ERRORS,
)

# In-stream `event: error` bodies come inside a 200; their type says what happened.
_STREAM_ERROR_STATUS = {
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "invalid_request_error": 400,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def _from_status_error(exc: anthropic.APIStatusError) -> SwitchboardError:
    status = exc.status_code
    if status < 400:
        error_type = exc.type if isinstance(exc.type, str) else ""
        status = _STREAM_ERROR_STATUS.get(error_type, 500)
    retry_after = parse_retry_after(dict(exc.response.headers))
    return status_error(status, what=WHAT, retry_after=retry_after)


def translate(exc: BaseException) -> SwitchboardError:
    """The core error for anything in `VENDOR_ERRORS`."""
    blocked = blocked_cause(exc)
    if blocked is not None:
        return blocked_error(blocked)
    if isinstance(exc, anthropic.APIStatusError):
        return _from_status_error(exc)
    # APITimeoutError is an APIConnectionError; common.transport_error checks timeouts first.
    return common.transport_error(
        exc,
        WHAT,
        timeouts=(anthropic.APITimeoutError,),
        unreachable=(anthropic.APIConnectionError,),
    )
