"""`KeyFetcher` for ID-token issuers: a JWKS document through the hardened outbound client.

JWKS URLs are the operator's (`SWITCHBOARD_GOOGLE_JWKS_URL`, `SWITCHBOARD_OIDC_JWKS_URL`),
so they are fetched as a
trusted endpoint: a JWKS server on the operator's own network is allowed, metadata and
link-local addresses never are, and the size and time of the fetch are capped.
"""

from __future__ import annotations

from switchboard.adapters.http.clients import OutboundClients

MAX_JWKS_BYTES = 256 * 1024
JWKS_TIMEOUT_SECONDS = 10.0


class JwksFetcher:
    """Fetches a JWKS document with `OutboundClients.safe_fetch` (operator-trusted)."""

    def __init__(
        self,
        clients: OutboundClients,
        *,
        max_bytes: int = MAX_JWKS_BYTES,
        timeout: float = JWKS_TIMEOUT_SECONDS,
    ) -> None:
        self._clients = clients
        self._max_bytes = max_bytes
        self._timeout = timeout

    async def fetch(self, url: str) -> bytes:
        """The JWKS bytes at `url`; core error kinds on refusal or failure."""
        return await self._clients.safe_fetch(
            url,
            trusted=True,
            max_bytes=self._max_bytes,
            timeout=self._timeout,
            headers={"accept": "application/json"},
        )
