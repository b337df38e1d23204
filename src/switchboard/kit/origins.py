"""Web origins as browsers write them in `Origin` (`scheme://host[:port]`)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origins(values: Iterable[str]) -> tuple[str, ...]:
    """The listed origins as browsers write them (lower case, default port dropped),
    without duplicates; `ValueError` naming the first entry that is not an origin, or
    that is a wildcard (requests carry credentials, so each origin must be exact)."""
    return tuple(dict.fromkeys(_origin(value.strip()) for value in values if value.strip()))


def _origin(value: str) -> str:
    if "*" in value:
        raise ValueError(
            f"{value!r}: wildcards are refused because requests carry credentials "
            "(cookies, Authorization); list each origin exactly, e.g. https://app.example.com"
        )
    not_an_origin = ValueError(
        f"{value!r} is not an origin: write scheme://host[:port] with no path, "
        "e.g. https://app.example.com"
    )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise not_an_origin from None
    scheme = parts.scheme.lower()
    extra = parts.path.strip("/") or parts.query or parts.fragment or "@" in parts.netloc
    if scheme not in _DEFAULT_PORTS or not parts.hostname or extra:
        raise not_an_origin
    host = parts.netloc.lower()
    if port == _DEFAULT_PORTS[scheme]:
        host = host.rsplit(":", 1)[0]
    return f"{scheme}://{host}"
