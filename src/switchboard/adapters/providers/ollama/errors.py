"""Ollama failures as core error kinds, translated at the adapter edge."""

from __future__ import annotations

import json

import ollama
import pydantic

from switchboard.adapters.http import (
    TRANSPORT_ERRORS,
    BlockedUrl,
    blocked_cause,
    blocked_error,
    status_error,
)
from switchboard.adapters.providers import common
from switchboard.core.errors import NotFound, SwitchboardError, UpstreamUnavailable

WHAT = "Ollama"


class StatusError(Exception):
    """An HTTP error answer, raised by our HTTP shim before the SDK sees it.

    The SDK's own ResponseError drops the headers, and with them Retry-After.
    """

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


# Everything the SDK, its HTTP stack or its NDJSON decoding can raise for a bad upstream.
# ConnectionError is what the SDK turns httpx.ConnectError into.
VENDOR_ERRORS: tuple[type[BaseException], ...] = (
    StatusError,
    ollama.ResponseError,
    ConnectionError,
    BlockedUrl,
    json.JSONDecodeError,
    pydantic.ValidationError,
    *TRANSPORT_ERRORS,
)


def translate(exc: BaseException) -> SwitchboardError:
    """The core error for anything in `VENDOR_ERRORS`."""
    blocked = blocked_cause(exc)
    if blocked is not None:
        return blocked_error(blocked)
    if isinstance(exc, StatusError):
        return status_error(exc.status, what=WHAT, retry_after=exc.retry_after)
    if isinstance(exc, ollama.ResponseError):
        if exc.status_code >= 400:
            return status_error(exc.status_code, what=WHAT)
        # status -1: an {"error": ...} line inside a 200 stream.
        return UpstreamUnavailable(f"{WHAT} reported an error", code="upstream_error")
    return common.transport_error(exc, WHAT, unreachable=(ConnectionError,))


def translate_for_model(exc: BaseException, model: str) -> SwitchboardError:
    """`translate`, except that a 404 for a named model says it is not installed."""
    status = exc.status if isinstance(exc, StatusError) else None
    if isinstance(exc, ollama.ResponseError):
        status = exc.status_code
    if status == 404:
        return NotFound(
            f"Model '{model}' is not installed on this {WHAT} server.", code="model_not_found"
        )
    return translate(exc)
