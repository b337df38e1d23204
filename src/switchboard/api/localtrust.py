"""Local trust: when a connection may act as the owner without credentials.

Only a connection that is local in every respect: the TCP peer is a loopback address,
no proxy forwarded it (a reverse proxy on the same machine is a loopback peer too, which
is why local trust must never be on behind one), the `Host` names this machine, and any
`Origin` is a loopback origin (a web page the user visits must not ride the bypass).
Whether the bypass is on at all is the operator's setting (`AppOptions.local_trust`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import Scope

from switchboard.kit.loopback import is_loopback_host

FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"x-real-ip", b"forwarded"})


def is_trusted_local(scope: Scope) -> bool:
    """True when `scope` came straight from this machine, as described above."""
    client = scope.get("client")
    if not client or not is_loopback_host(client[0]):
        return False
    host: str | None = None
    origin: str | None = None
    for name, value in scope.get("headers", ()):
        if name in FORWARDING_HEADERS:
            return False
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"origin":
            origin = value.decode("latin-1")
    if host is None or not is_loopback_host(_hostname(host)):
        return False
    return origin is None or is_loopback_host(urlsplit(origin).hostname)


def _hostname(host_header: str) -> str:
    # "127.0.0.1:8080", "[::1]:8080", "localhost"
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header
