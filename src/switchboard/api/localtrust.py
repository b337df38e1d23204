"""Local trust: when a connection may act as the owner without credentials.

Only a connection that is local in every respect: the TCP peer is a loopback address,
no proxy forwarded it (a reverse proxy on the same machine is a loopback peer too, which
is why local trust must never be on behind one), the `Host` names this machine, and any
`Origin` is a loopback origin (a web page the user visits must not ride the bypass).
`Origin: null` (a sandboxed frame, a `file:` page, a redirect across origins) is foreign.
Browsers send no `Origin` on a top-level navigation or an image load, so a request that
a browser marks `Sec-Fetch-Site: cross-site` without an `Origin` is foreign too.
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
    host_seen = origin_seen = cross_site = False
    for name, value in scope.get("headers", ()):
        if name in FORWARDING_HEADERS:
            return False
        # Every Host and Origin must be local, however many a client repeats.
        if name == b"host":
            if not is_loopback_host(_hostname(value.decode("latin-1"))):
                return False
            host_seen = True
        elif name == b"origin":
            if not is_loopback_host(_origin_host(value.decode("latin-1"))):
                return False
            origin_seen = True
        elif name == b"sec-fetch-site":
            cross_site = value.strip().lower() == b"cross-site"
    # With an Origin, the origin decides (a local frontend on another port is cross-site).
    return host_seen and (origin_seen or not cross_site)


def _hostname(host_header: str) -> str:
    # "127.0.0.1:8080", "[::1]:8080", "localhost"; "" for an unclosed bracket
    if host_header.startswith("["):
        end = host_header.find("]")
        return host_header[1:end] if end > 0 else ""
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _origin_host(origin: str) -> str | None:
    # "null" and other opaque origins have no host; a malformed one is not local either.
    try:
        return urlsplit(origin).hostname
    except ValueError:
        return None
