"""`ImageFetcher` on the hardened outbound client.

Providers sometimes answer with image URLs instead of bytes. Those URLs come from an
upstream we may not trust (a user's base URL), so they are fetched like any other
user-influenced URL: policy-checked addresses, capped size and time, checked redirects.
"""

from __future__ import annotations

from switchboard.adapters.http.clients import OutboundClients

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0


class SafeImageFetcher:
    """Fetches provider-returned image URLs through `OutboundClients.safe_fetch`."""

    def __init__(
        self,
        clients: OutboundClients,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._clients = clients
        self._max_bytes = max_bytes
        self._timeout = timeout

    async def fetch(self, url: str, *, trusted: bool = False) -> bytes:
        """The bytes at `url`; core error kinds on refusal or failure."""
        return await self._clients.safe_fetch(
            url, trusted=trusted, max_bytes=self._max_bytes, timeout=self._timeout
        )
