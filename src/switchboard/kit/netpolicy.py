"""Outbound URL and IP policy: which URLs may be fetched and which addresses reached.

Pure and domain-free. The HTTP layer calls `check_url_syntax` before a request and
`resolve_and_check` inside its connect hook, so the address it connects to is the one
that was checked (no DNS-rebinding window). Every answer of a name is checked: one bad
answer blocks the name, because an attacker controls which answer is tried first.

The always-forbidden set (metadata, link-local, unspecified, multicast, reserved) holds
even for operator-configured endpoints; private, loopback, CGNAT and unique-local
addresses are allowed only when the caller says so (`allow_private`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Image inputs given inline: raster formats only. SVG is a document (scripts, external
# references a renderer may fetch), so it is refused like any other type.
RASTER_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_DATA_URL = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),", re.IGNORECASE)

# Blocked even for the operator: cloud metadata services and what has no business being
# dialled (link-local, "this network", multicast, reserved, site-local).
_ALWAYS_FORBIDDEN_NETS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata (inside CGNAT)
    ipaddress.ip_network("192.0.0.192/32"),  # Oracle Cloud metadata
    ipaddress.ip_network("224.0.0.0/4"),
    ipaddress.ip_network("240.0.0.0/4"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fec0::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS IMDS over IPv6 (inside fc00::/7)
    ipaddress.ip_network("ff00::/8"),
)

# IPv6 prefixes that carry an IPv4 address in their low 32 bits (NAT64, RFC 6052/8215).
_NAT64_NETS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)
# IPv4-compatible IPv6 (deprecated `::a.b.c.d`), which some stacks still route as IPv4.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

Resolver = Callable[[str, int], Awaitable[list[str]]]


class BlockedUrl(ValueError):
    """A URL or address the outbound policy refuses; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class ParsedOrigin:
    """The parts of a URL that decide where a request goes."""

    scheme: str
    host: str  # lower-case, IPv6 without brackets
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def check_url_syntax(url: str) -> ParsedOrigin:
    """Parse `url`, refusing anything but http(s) with a host and no userinfo."""
    if not isinstance(url, str) or not url:
        raise BlockedUrl("URL is empty")
    # Control characters and backslashes are where parsers disagree with each other.
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url) or "\\" in url:
        raise BlockedUrl("URL contains characters that are not allowed")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedUrl("URL is not valid") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedUrl("only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise BlockedUrl("URLs with credentials in them are not allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise BlockedUrl("URL has no host")
    return ParsedOrigin(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])


def origin_of(url: str) -> str:
    """`scheme://host:port` with the default port explicit: what a stored key is bound to."""
    return str(check_url_syntax(url))


def _parse_ip(ip: str | IPAddress) -> IPAddress | None:
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ip
    try:
        return ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64, compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client address behind the relay
    if any(ip in net for net in _NAT64_NETS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # `::` and `::1` are IPv6's own
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_forbidden_ip(ip: str | IPAddress, allow_private: bool) -> bool:
    """Whether the policy forbids connecting to `ip` (unparseable counts as forbidden)."""
    addr = _parse_ip(ip)
    if addr is None:
        return True
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:  # a zone id only makes sense for link-local
            return True
        inner = embedded_ipv4(addr)
        if inner is not None:
            return is_forbidden_ip(inner, allow_private)
    if _always_forbidden(addr):
        return True
    # `is_global` is false for private, loopback, CGNAT (100.64/10), unique-local,
    # documentation and benchmarking ranges: all of them need the operator's consent.
    return not addr.is_global and not allow_private


def _always_forbidden(addr: IPAddress) -> bool:
    if addr.is_unspecified or addr.is_multicast or addr.is_link_local or addr.is_reserved:
        # IPv6's "reserved" covers ::/8, which holds ::1; loopback is judged below.
        return not addr.is_loopback
    return any(addr.version == net.version and addr in net for net in _ALWAYS_FORBIDDEN_NETS)


async def system_resolve(host: str, port: int) -> list[str]:
    """Every TCP address `host` resolves to, through the event loop's resolver."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def resolve_and_check(
    host: str, port: int, allow_private: bool, *, resolve: Resolver | None = None
) -> list[str]:
    """The addresses to connect to for `host`, all of them allowed by the policy.

    Raises `BlockedUrl` when any answer is forbidden and `OSError` when the name does not
    resolve. Connect to one of the returned addresses, never to `host` again.
    """
    literal = _parse_ip(host)
    if literal is not None:
        answers = [str(literal)]
    else:
        answers = await (resolve or system_resolve)(host, port)
    if not answers:
        raise OSError(f"no address for host {host!r}")
    for answer in answers:
        if is_forbidden_ip(answer, allow_private):
            raise BlockedUrl("the URL points to an address that is not allowed")
    return answers


def check_image_input(url: str) -> ParsedOrigin | None:
    """Judge an image input (a chat `image_url`) before anything else sees it.

    A `data:` URL must be base64 of a raster type (`RASTER_IMAGE_TYPES`): None. Anything
    else must be an http(s) URL (`check_url_syntax`): its origin is returned, for the
    caller to check its address with the policy (trust and exemptions are the caller's).
    `BlockedUrl` otherwise.
    """
    if url[:5].lower() == "data:":
        _check_data_url(url)
        return None
    return check_url_syntax(url)


def _check_data_url(url: str) -> None:
    match = _DATA_URL.match(url)
    if match is None:
        raise BlockedUrl("image data: URL is not valid")
    media_type = match.group(1).strip().lower()
    if media_type not in RASTER_IMAGE_TYPES:
        raise BlockedUrl("image data: URLs must be PNG, JPEG, GIF or WebP images")
    if "base64" not in (p.strip().lower() for p in match.group(2).split(";")):
        raise BlockedUrl("image data: URLs must be base64-encoded")
    try:
        base64.b64decode(url[match.end() :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BlockedUrl("image data: URLs must be base64-encoded") from exc
