"""What the SDK-backed adapters (Anthropic, Gemini, Ollama) do the same way.

Each adapter still owns its vendor's wire shapes and status errors; only the logic that
must not drift between vendors lives here: which base URLs are acceptable, how a tool
call's arguments are parsed, and how transport failures and a missing key read.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard.adapters.http import (
    TIMEOUT_ERRORS,
    TRANSPORT_ERRORS,
    BlockedUrl,
    blocked_error,
)
from switchboard.core.errors import (
    Invalid,
    SwitchboardError,
    Timeout,
    UpstreamRejected,
    UpstreamUnavailable,
)
from switchboard.core.llm import ToolCall
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.kit.netpolicy import check_url_syntax


def base_url(endpoint: ProviderEndpoint, default: str) -> str:
    """The endpoint's base URL (or `default`), refused unless it is plain http(s)."""
    url = (endpoint.base_url or default).rstrip("/")
    try:
        check_url_syntax(url)
    except BlockedUrl as exc:
        raise blocked_error(exc) from None
    return url


def missing_key(what: str) -> UpstreamRejected:
    """The error for a call without a key: the same failure as a rejected one."""
    return UpstreamRejected(
        f"No {what} API key is configured.", code="upstream_auth", upstream_status=401
    )


def tool_arguments(call: ToolCall) -> dict[str, Any]:
    """A tool call's JSON arguments as an object (empty arguments are `{}`)."""
    if not call.arguments.strip():
        return {}
    try:
        value = json.loads(call.arguments)
    except ValueError as exc:
        raise Invalid(f"Tool call {call.name!r} has arguments that are not JSON.") from exc
    if not isinstance(value, dict):
        raise Invalid(f"Tool call {call.name!r} arguments must be a JSON object.")
    return value


def transport_error(
    exc: BaseException,
    what: str,
    *,
    timeouts: tuple[type[BaseException], ...] = (),
    unreachable: tuple[type[BaseException], ...] = (),
) -> SwitchboardError:
    """The core error for a vendor failure that is not an HTTP error answer.

    `timeouts` and `unreachable` add the SDK's own exception types to the shared HTTP
    ones; anything else the adapter let through is a malformed response.
    """
    if isinstance(exc, (*timeouts, *TIMEOUT_ERRORS)):
        return Timeout(f"{what} did not answer in time")
    if isinstance(exc, (*unreachable, *TRANSPORT_ERRORS)):
        return UpstreamUnavailable(f"{what} could not be reached or dropped the connection")
    return UpstreamUnavailable(f"{what} sent a malformed response", code="upstream_malformed")
