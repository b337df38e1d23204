"""The edge where openai SDK exceptions become core error kinds.

Messages are ours, never the upstream's: an upstream error body can carry the key (a
401 from OpenAI quotes part of it) or attacker-chosen text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from switchboard.adapters.http import (
    TIMEOUT_ERRORS,
    TRANSPORT_ERRORS,
    BlockedUrl,
    blocked_cause,
    blocked_error,
    parse_retry_after,
    status_error,
)
from switchboard.core.errors import SwitchboardError, Timeout, UpstreamUnavailable


@cache
def translatable() -> tuple[type[BaseException], ...]:
    """Everything the SDK and its transport raise that this module can translate.

    The SDK is imported on first need: chat goes over aiohttp, and a process that never
    lists models, embeds or draws never loads it (tens of MB).
    """
    import openai

    return (openai.OpenAIError, BlockedUrl, json.JSONDecodeError, *TRANSPORT_ERRORS)


def translate(exc: BaseException, what: str = "the provider") -> SwitchboardError:
    """The core error for an exception raised by the openai SDK or its transport."""
    import openai

    blocked = blocked_cause(exc)
    if blocked is not None:
        return blocked_error(blocked)
    if isinstance(exc, (openai.APITimeoutError, *TIMEOUT_ERRORS)):
        return Timeout(f"{what} did not answer in time")
    if isinstance(exc, openai.APIStatusError):
        retry_after = parse_retry_after(dict(exc.response.headers))
        return status_error(exc.status_code, what=what, retry_after=retry_after)
    if isinstance(exc, (openai.APIConnectionError, *TRANSPORT_ERRORS)):
        return UpstreamUnavailable(f"{what} could not be reached or dropped the connection")
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return UpstreamUnavailable(f"{what} sent a malformed response", code="upstream_malformed")
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        return UpstreamUnavailable(f"{what} reported an error", code="upstream_error")
    return UpstreamUnavailable(f"{what} failed", code="upstream_error")


@contextmanager
def translated(what: str = "the provider") -> Iterator[None]:
    """Re-raise SDK and transport exceptions as core errors (without the vendor cause)."""
    try:
        yield
    except translatable() as exc:
        # `from None`: tracebacks and loggers leave out the vendor exception, whose text
        # may quote the upstream body (an upstream 401 can quote the key).
        raise translate(exc, what) from None


def malformed(what: str = "the provider") -> UpstreamUnavailable:
    """The error for a response that parsed but does not have the expected shape."""
    return UpstreamUnavailable(f"{what} sent a malformed response", code="upstream_malformed")
