"""Hardened outbound HTTP: the only place that builds HTTP clients for outbound calls."""

from switchboard.adapters.http.aio import AIO_ERRORS, AioClient, aio_error
from switchboard.adapters.http.clients import OutboundClients
from switchboard.adapters.http.errors import (
    TIMEOUT_ERRORS,
    TRANSPORT_ERRORS,
    blocked_cause,
    blocked_error,
    parse_retry_after,
    status_error,
)
from switchboard.adapters.http.policy import OutboundPolicy
from switchboard.kit.netpolicy import BlockedUrl

__all__ = [
    "AIO_ERRORS",
    "TIMEOUT_ERRORS",
    "TRANSPORT_ERRORS",
    "AioClient",
    "BlockedUrl",
    "OutboundClients",
    "OutboundPolicy",
    "aio_error",
    "blocked_cause",
    "blocked_error",
    "parse_retry_after",
    "status_error",
]
