"""What a desktop bridge relay offers, and what a desktop connection must do.

Two sides meet in a relay. Providers call `BridgeRelay.request` and read a streamed
`RelayResponse`. Desktops attach through `BridgeHub`: whatever carries their frames (a
WebSocket handler, a test double) implements `BridgeConnection` to receive requests and
cancellations, and hands every answer frame it receives to `BridgeHub.deliver`. A relay
spanning replicas implements the same two ports and forwards frames over the event bus
to the replica where the desktop is attached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from .schemas import FromDesktop, RelayRequest, ToDesktop


class RelayResponse(Protocol):
    """A relayed answer: status and headers at once, the body as the desktop streams it.

    Iterating yields the body chunks in order and raises a core error if the desktop
    fails, detaches or falls silent for longer than the timeout. Closing before the end
    cancels the request on the desktop.
    """

    @property
    def status(self) -> int:
        """The local server's HTTP status."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The local server's headers, lower case, without hop-by-hop or secret ones."""
        ...

    def __aiter__(self) -> AsyncIterator[bytes]:
        """The body chunks, in order."""
        ...

    async def aclose(self) -> None:
        """Stop reading; cancels the request on the desktop unless it already ended."""
        ...


class BridgeRelay(Protocol):
    """Sends requests to desktops by bridge id (the provider side of a relay)."""

    async def request(
        self,
        bridge_id: str,
        request: RelayRequest,
        *,
        timeout: float,  # noqa: ASYNC109 (an idle limit, reapplied to every chunk)
    ) -> RelayResponse:
        """Relay `request` and return once the answer starts.

        `timeout` bounds the wait for the start and for each chunk after it. Raises
        `UpstreamUnavailable` (code `bridge_offline`) when no desktop is attached,
        `Timeout` (code `bridge_timeout`) when it stays silent, and the kind of the
        desktop's status when it reports an error.
        """
        ...

    def is_connected(self, bridge_id: str) -> bool:
        """Whether a desktop is attached for `bridge_id` (here, for a local relay)."""
        ...


class BridgeConnection(Protocol):
    """The desktop end of one bridge, as the relay sees it."""

    async def send(self, frame: ToDesktop) -> None:
        """Deliver a request or a cancellation to the desktop; `ConnectionError` when the
        desktop is gone."""
        ...


class BridgeHub(Protocol):
    """Where desktops attach and hand in their answers (the desktop side of a relay)."""

    def attach(self, bridge_id: str, connection: BridgeConnection) -> None:
        """Route requests for `bridge_id` to `connection` (replacing an earlier one)."""
        ...

    async def detach(self, bridge_id: str, connection: BridgeConnection) -> None:
        """Stop routing to `connection`; its pending requests fail as offline."""
        ...

    async def deliver(self, bridge_id: str, frame: FromDesktop) -> None:
        """Hand in an answer frame received from the desktop of `bridge_id`.

        Waits while the reader of that request is behind (backpressure); frames of an
        unknown, finished or cancelled request are dropped.
        """
        ...


class DesktopBridges(BridgeRelay, BridgeHub, Protocol):
    """Both sides of one relay: what the process keeps (`AppContext.bridges`)."""
