"""The outbound policy as the HTTP layer applies it: trust, exemptions and resolution.

Every refusal is decided here, so here it is logged: one WARNING line per refused
destination, naming the host and port (never the URL: it may carry a key in its query
string) and why. The request or job id comes from the log context.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from urllib.parse import urlsplit

import anyio
import structlog

from switchboard.kit.netpolicy import (
    BlockedUrl,
    Resolver,
    check_url_syntax,
    is_forbidden_ip,
    resolve_and_check,
)

log = structlog.get_logger("switchboard.outbound")


def _refused(host: str, port: int | None, trusted: bool, reason: str) -> None:
    log.warning("outbound_url_refused", host=host, port=port, trusted=trusted, reason=reason)


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
        if is_forbidden_ip(ip, self.allows_private(host, port, trusted)):
            _refused(host, port, trusted, "the address is not allowed")
            return False
        return True

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
        except BlockedUrl as exc:
            _refused(host, port, trusted, str(exc))
            raise
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
        try:
            origin = check_url_syntax(url)
        except BlockedUrl as exc:
            # No host to name for some refusals; the URL itself is never logged.
            _refused(_host_of(url), None, trusted, str(exc))
            raise
        try:
            await self.addresses(origin.host, origin.port, trusted=trusted, timeout=timeout)
        except ResolveError as exc:
            _refused(origin.host, origin.port, trusted, "the host name could not be resolved")
            raise BlockedUrl("the host name could not be resolved") from exc


def _host_of(url: str) -> str:
    """The host part of a URL that failed the syntax check, or "" (never user-info)."""
    try:
        return (urlsplit(url).hostname or "")[:253]
    except ValueError:
        return ""
