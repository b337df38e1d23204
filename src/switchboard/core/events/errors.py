"""Errors of the event bus."""

from __future__ import annotations

from switchboard.core.errors import ServiceUnavailable


class BusUnavailable(ServiceUnavailable):
    """The bus's transport (Redis) cannot be reached; nothing was delivered."""

    default_code = "event_bus_unavailable"
