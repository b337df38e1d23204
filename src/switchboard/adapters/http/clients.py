"""The one place that builds HTTP clients for outbound calls.

Every SDK client and every fetch goes through transports whose network backend checks
each resolved address against the outbound policy and connects to the checked IP. There
is one connection pool per (HTTP stack, trusted); clients handed out share those pools
and cannot close them (an SDK closing its client must not close everyone's pool).
Redirects are never followed automatically, environment proxies are ignored (a proxy
would connect on our behalf, past the policy), and every client has explicit timeouts.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp
import httpcore
import httpcore2
import httpx
import httpx2

from switchboard.adapters.http.aio import AioClient
from switchboard.adapters.http.backends import PinnedBackend, PinnedBackend2
from switchboard.adapters.http.fetch import safe_fetch as _safe_fetch
from switchboard.adapters.http.policy import OutboundPolicy
from switchboard.kit.netpolicy import Resolver

DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0


class _SharedTransport2(httpx2.AsyncBaseTransport):
    """A handle on a shared pool that ignores `aclose` (the owner closes the pool)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


class _SharedTransport(httpx.AsyncBaseTransport):
    """The httpx (legacy stack) twin of `_SharedTransport2`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


class _PinnedTransport2(httpx2.AsyncHTTPTransport):
    """httpx2's transport over a pool that dials through `PinnedBackend2`."""

    def __init__(self, backend: PinnedBackend2, limits: httpx2.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # Rebuild the pool with our backend: same settings httpx2 would use, no proxy.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool that dials through `PinnedBackend`."""

    def __init__(self, backend: PinnedBackend, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class OutboundClients:
    """Pooled, policy-enforcing HTTP clients: both HTTP stacks the SDKs use, and aiohttp.

    aiohttp (`aio_client`) carries the hot path (chat completions, blocking and
    streamed): it costs several times less CPU per call than the SDKs' httpx2 stack.

    `trusted=True` is for endpoints the operator configured: private and loopback
    addresses are allowed there; metadata and link-local addresses never are.
    `exemptions` lists `host:port` pairs the operator allows even when they are private.
    """

    def __init__(
        self,
        *,
        exemptions: Iterable[str] = (),
        max_connections: int = 512,
        max_keepalive_connections: int = 128,
        keepalive_expiry: float = 30.0,
        resolve: Resolver | None = None,
        dns_cache_seconds: float = 10.0,
    ) -> None:
        self.policy = OutboundPolicy(exemptions, resolve)
        self._limits = (max_connections, max_keepalive_connections, keepalive_expiry)
        self._dns_cache_seconds = dns_cache_seconds
        self._transports2: dict[bool, _PinnedTransport2] = {}
        self._transports: dict[bool, _PinnedTransport] = {}
        self._aio: dict[bool, AioClient] = {}

    # -- aiohttp (the hot path) ---------------------------------------------------------
    def aio_client(self, *, trusted: bool) -> AioClient:
        """The shared aiohttp client for `trusted` (pinned resolver, no redirects).

        Answers from the pinned resolver are cached for `dns_cache_seconds` (they were
        checked before being cached); keep-alive connections stay pinned to the address
        they were opened to.
        """
        client = self._aio.get(trusted)
        if client is None:
            client = AioClient(
                self.policy,
                trusted=trusted,
                max_connections=self._limits[0],
                keepalive_expiry=self._limits[2],
                dns_cache_seconds=self._dns_cache_seconds,
                keep_alive=self._limits[1] > 0,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=DEFAULT_CONNECT_TIMEOUT, sock_read=DEFAULT_TIMEOUT
                ),
            )
            self._aio[trusted] = client
        return client

    # -- transports (for SDKs that build their own client from a transport) -----------
    def httpx2_transport(self, *, trusted: bool) -> httpx2.AsyncBaseTransport:
        """A non-closing handle on the shared httpx2 pool for `trusted`."""
        pool = self._transports2.get(trusted)
        if pool is None:
            limits = httpx2.Limits(
                max_connections=self._limits[0],
                max_keepalive_connections=self._limits[1],
                keepalive_expiry=self._limits[2],
            )
            pool = _PinnedTransport2(PinnedBackend2(self.policy, trusted=trusted), limits)
            self._transports2[trusted] = pool
        return _SharedTransport2(pool)

    def httpx_transport(self, *, trusted: bool) -> httpx.AsyncBaseTransport:
        """A non-closing handle on the shared httpx (legacy stack) pool for `trusted`."""
        pool = self._transports.get(trusted)
        if pool is None:
            limits = httpx.Limits(
                max_connections=self._limits[0],
                max_keepalive_connections=self._limits[1],
                keepalive_expiry=self._limits[2],
            )
            pool = _PinnedTransport(PinnedBackend(self.policy, trusted=trusted), limits)
            self._transports[trusted] = pool
        return _SharedTransport(pool)

    # -- clients ------------------------------------------------------------------------
    def httpx2_client(
        self, *, trusted: bool, timeout: httpx2.Timeout | float | None = None
    ) -> httpx2.AsyncClient:
        """An httpx2 client (openai, anthropic, google-genai) on the shared pinned pool.

        Each call returns a new, cheap client object over the one pool for `trusted`, so
        an SDK that closes its client closes only that handle, never the pool.
        """
        return httpx2.AsyncClient(
            transport=self.httpx2_transport(trusted=trusted),
            timeout=_as_timeout2(timeout),
            follow_redirects=False,
            trust_env=False,
        )

    def httpx_client(
        self, *, trusted: bool, timeout: httpx.Timeout | float | None = None
    ) -> httpx.AsyncClient:
        """An httpx client (ollama) on the shared pinned pool; see `httpx2_client`."""
        return httpx.AsyncClient(
            transport=self.httpx_transport(trusted=trusted),
            timeout=_as_timeout(timeout),
            follow_redirects=False,
            trust_env=False,
        )

    async def safe_fetch(
        self,
        url: str,
        *,
        trusted: bool = False,
        max_bytes: int = 5 * 1024 * 1024,
        timeout: float = 15.0,  # noqa: ASYNC109 (a budget for the whole fetch)
        headers: dict[str, str] | None = None,
        max_redirects: int = 3,
    ) -> bytes:
        """GET `url` under the outbound policy; see `switchboard.adapters.http.fetch`."""
        return await _safe_fetch(
            self,
            url,
            trusted=trusted,
            max_bytes=max_bytes,
            timeout=timeout,
            headers=headers,
            max_redirects=max_redirects,
        )

    async def aclose(self) -> None:
        """Close every pool; clients handed out stop working, new ones get new pools."""
        pools: list[_PinnedTransport2 | _PinnedTransport] = [
            *self._transports2.values(),
            *self._transports.values(),
        ]
        aio = list(self._aio.values())
        self._transports2.clear()
        self._transports.clear()
        self._aio.clear()
        for pool in pools:
            await pool.aclose()
        for client in aio:
            await client.aclose()


def _as_timeout2(timeout: httpx2.Timeout | float | None) -> httpx2.Timeout:
    if isinstance(timeout, httpx2.Timeout):
        return timeout
    total = DEFAULT_TIMEOUT if timeout is None else timeout
    return httpx2.Timeout(total, connect=min(total, DEFAULT_CONNECT_TIMEOUT))


def _as_timeout(timeout: httpx.Timeout | float | None) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    total = DEFAULT_TIMEOUT if timeout is None else timeout
    return httpx.Timeout(total, connect=min(total, DEFAULT_CONNECT_TIMEOUT))
