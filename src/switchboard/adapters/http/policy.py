"""The outbound policy as the HTTP layer applies it: trust, exemptions and resolution."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext

import anyio

from switchboard.kit.netpolicy import (
    BlockedUrl,
    Resolver,
    check_url_syntax,
    is_forbidden_ip,
    resolve_and_check,
)


class ResolveError(OSError):
    """The host name did not resolve (or resolving took longer than the timeout)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def _exemption_key(entry: str) -> tuple[str, int]:
    host, sep, port = entry.strip().lower().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"exemption {entry!r} is not host:port")
    return host.strip("[]"), int(port)


class OutboundPolicy:
    """Decides, per connection, which addresses a host may be reached at.

    `trusted` connections (operator-configured endpoints) and exempted `host:port` pairs
    may reach private and loopback addresses; metadata and link-local never.
    """

    def __init__(self, exemptions: Iterable[str] = (), resolve: Resolver | None = None) -> None:
        self._exempt = frozenset(_exemption_key(entry) for entry in exemptions)
        self._resolve = resolve

    def allows_private(self, host: str, port: int, trusted: bool) -> bool:
        """Whether private and loopback answers are acceptable for this destination."""
        return trusted or (host.lower().strip("[]"), port) in self._exempt

    def address_allowed(self, ip: str, host: str, port: int, trusted: bool) -> bool:
        """Whether an already-known address of `host` may be dialled (for custom resolvers)."""
        return not is_forbidden_ip(ip, self.allows_private(host, port, trusted))

    async def addresses(
        self,
        host: str,
        port: int,
        *,
        trusted: bool,
        timeout: float | None,  # noqa: ASYNC109 (the connect budget httpcore passes down)
    ) -> list[str]:
        """Checked addresses for `host`; `BlockedUrl` or `ResolveError` otherwise."""
        allow = self.allows_private(host, port, trusted)
        try:
            with anyio.fail_after(timeout) if timeout else nullcontext():
                return await resolve_and_check(host, port, allow, resolve=self._resolve)
        except TimeoutError as exc:
            raise ResolveError("resolving the host timed out", timed_out=True) from exc
        except OSError as exc:  # socket.gaierror and friends
            raise ResolveError("the host name could not be resolved") from exc

    async def check_url(
        self,
        url: str,
        *,
        trusted: bool,
        timeout: float | None,  # noqa: ASYNC109 (a budget for resolving the name)
    ) -> None:
        """Refuse, before storing it, a URL this policy would not connect to.

        The same decision as at connect time (trust and exemptions); a name that does not
        resolve is refused too (`BlockedUrl`), so every failure reads the same upstream.
        """
        origin = check_url_syntax(url)
        try:
            await self.addresses(origin.host, origin.port, trusted=trusted, timeout=timeout)
        except ResolveError as exc:
            raise BlockedUrl("the host name could not be resolved") from exc
