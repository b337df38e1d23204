"""The core errors of a relayed request, worded once for every relay and provider."""

from __future__ import annotations

from switchboard.core.errors import SwitchboardError, Timeout, UpstreamRejected, UpstreamUnavailable

MAX_MESSAGE = 200


def bridge_offline(bridge_id: str) -> UpstreamUnavailable:
    """No desktop is connected for `bridge_id` (or it went away mid-request)."""
    return UpstreamUnavailable(
        f"The desktop bridge {bridge_id} is not connected", code="bridge_offline"
    )


def bridge_timeout(bridge_id: str) -> Timeout:
    """The desktop sent nothing for longer than the request's timeout."""
    return Timeout(f"The desktop bridge {bridge_id} did not answer in time", code="bridge_timeout")


def desktop_error(bridge_id: str, message: str, status: int | None) -> SwitchboardError:
    """The desktop reported that it could not make or finish the request.

    A 4xx it names is a refusal of the request itself; anything else (its local server
    is down, no status at all) means the upstream is unavailable.
    """
    # The desktop's words reach the user: keep them to a line.
    text = f"The desktop bridge {bridge_id} reported an error: {message[:MAX_MESSAGE]}"
    if status is not None and 400 <= status < 500:
        return UpstreamRejected(text, code="bridge_rejected", upstream_status=status)
    return UpstreamUnavailable(text, code="bridge_error", upstream_status=status)


def bridge_malformed(bridge_id: str) -> UpstreamUnavailable:
    """The desktop broke the protocol (a chunk before the start, a second start)."""
    return UpstreamUnavailable(
        f"The desktop bridge {bridge_id} sent a malformed answer", code="bridge_malformed"
    )
