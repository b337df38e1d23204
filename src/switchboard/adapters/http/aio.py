"""The outbound policy on aiohttp: a pinned resolver and a client that checks literals.

aiohttp connects to whatever its resolver answers, keeping the request's host name for
TLS verification, SNI and the Host header; so a resolver that resolves, checks every
answer against the policy (`kit.netpolicy`) and answers only checked addresses pins
each connection to a checked IP, as `PinnedBackend2` does for httpcore2. aiohttp never
asks the resolver about IP literals, so `AioClient` checks those itself before sending.

Redirects are never followed, environment proxies are ignored (`trust_env=False`, a
proxy would connect on our behalf, past the policy), and every request has timeouts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from switchboard.adapters.http.errors import blocked_cause, blocked_error
from switchboard.adapters.http.policy import OutboundPolicy, ResolveError
from switchboard.core.errors import SwitchboardError, Timeout, UpstreamUnavailable
from switchboard.kit.netpolicy import BlockedUrl

NUMERIC_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
MAX_REMEMBERED_HOSTS = 4096


class PinnedResolver(AbstractResolver):
    """Resolves through the policy: every answer checked, only checked answers given."""

    def __init__(self, policy: OutboundPolicy, *, trusted: bool) -> None:
        self._policy = policy
        self._trusted = trusted

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        # BlockedUrl propagates as is (aiohttp wraps only OSError); ResolveError is an
        # OSError and becomes aiohttp's DNS error.
        addresses = await self._policy.addresses(host, port, trusted=self._trusted, timeout=None)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": NUMERIC_FLAGS,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class AioClient:
    """A policy-enforcing aiohttp client for one trust level, shared by every provider.

    `request` is aiohttp's `ClientSession.request` with redirects off and the policy
    applied to IP-literal hosts (names go through `PinnedResolver`). The session is
    opened on first use, inside the running event loop; closing is the owner's
    (`OutboundClients.aclose`).
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        trusted: bool,
        max_connections: int,
        keepalive_expiry: float,
        dns_cache_seconds: float,
        timeout: aiohttp.ClientTimeout,
        keep_alive: bool = True,
    ) -> None:
        self._policy = policy
        self._trusted = trusted
        self._options = (max_connections, keepalive_expiry, dns_cache_seconds, timeout)
        self._keep_alive = keep_alive
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._literals: dict[tuple[str, int], bool] = {}

    def _current_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            max_connections, keepalive_expiry, dns_cache_seconds, timeout = self._options
            reuse: dict[str, Any] = (
                {"keepalive_timeout": keepalive_expiry}
                if self._keep_alive
                else {"force_close": True}
            )
            connector = aiohttp.TCPConnector(
                resolver=PinnedResolver(self._policy, trusted=self._trusted),
                limit=max_connections,
                limit_per_host=0,
                use_dns_cache=dns_cache_seconds > 0,
                ttl_dns_cache=int(dns_cache_seconds) if dns_cache_seconds > 0 else None,
                **reuse,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                timeout=timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            self._loop = loop
        return self._session

    def _check_literal(self, url: URL) -> None:
        key = (url.raw_host or "", url.port or 0)
        allowed = self._literals.get(key)
        if allowed is None:
            literal = _literal(key[0])
            allowed = literal is None or self._policy.address_allowed(
                literal, key[0], key[1], self._trusted
            )
            # Only allowed hosts are remembered: a refusal is judged (and logged) each time.
            if allowed and len(self._literals) < MAX_REMEMBERED_HOSTS:
                self._literals[key] = allowed
        if not allowed:
            raise BlockedUrl("the URL points to an address that is not allowed")

    def request(
        self,
        method: str,
        url: URL | str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> Any:
        """`session.request(...)`, used as `async with`; `BlockedUrl` before any I/O."""
        target = url if isinstance(url, URL) else URL(url)
        self._check_literal(target)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        return self._current_session().request(
            method, target, data=data, headers=headers, allow_redirects=False, **extra
        )

    async def aclose(self) -> None:
        """Close the session (a later request opens a new one)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


def aio_error(exc: BaseException, what: str = "the provider") -> SwitchboardError:
    """The core error for an exception aiohttp (or the policy under it) raised."""
    blocked = blocked_cause(exc)
    if blocked is not None:
        return blocked_error(blocked)
    resolve = exc.__cause__ if isinstance(exc, aiohttp.ClientConnectorDNSError) else None
    if isinstance(exc, TimeoutError) or (isinstance(resolve, ResolveError) and resolve.timed_out):
        return Timeout(f"{what} did not answer in time")
    return UpstreamUnavailable(f"{what} could not be reached or dropped the connection")


# What `aio_error` translates: aiohttp's errors, timeouts, and the policy's refusal.
AIO_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    TimeoutError,
    BlockedUrl,
    OSError,
)
