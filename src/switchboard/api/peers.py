"""Who is on the other end of a connection: addresses, trusted networks, local peers."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Headers by which a proxy says whom it forwards for; a request carrying any of them did
# not come straight from its peer.
FORWARDING_HEADERS = frozenset(
    {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-real-ip", b"forwarded"}
)


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """IP addresses and CIDRs as networks; `ValueError` names an entry that is neither."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"Not an IP address or CIDR: {entry!r}") from exc
    return tuple(networks)


def address_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`text` as an IP address (IPv4-mapped IPv6 as IPv4), or None when it is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_direct_loopback(scope: Scope) -> bool:
    """Whether the request came straight from this host: a loopback peer, and no
    forwarding headers (a proxy on this host forwards for clients that are not local)."""
    if any(name in FORWARDING_HEADERS for name, _ in scope.get("headers", ())):
        return False
    peer = scope.get("client")
    address = address_of(peer[0]) if peer else None
    return address is not None and address.is_loopback
