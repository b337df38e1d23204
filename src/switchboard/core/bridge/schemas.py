"""What travels through a desktop bridge: one request out, its answer back in frames.

Every frame carries the id of the request it belongs to, so one connection carries many
requests at once. The frames are transport-neutral: a WebSocket handler or the event bus
encodes them as `{type, id, timestamp, payload}` messages; the in-memory relay passes
them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Headers that describe one hop of a connection, carry a credential of this side, or
# frame a body the other side re-frames: none of them means anything past the relay.
UNFORWARDED_HEADERS = frozenset(
    {
        # hop-by-hop (RFC 9110 7.6.1) and framing
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
        "accept-encoding",  # bodies cross the relay decoded
        # credentials: switchboard's, never the desktop's business (and the reverse)
        "authorization",
        "proxy-authorization",
        "proxy-authenticate",
        "www-authenticate",
        "cookie",
        "set-cookie",
        "x-api-key",
    }
)


def forwardable_headers(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
    """`headers` in lower case, without the hop-by-hop, framing and secret ones."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return {name.lower(): value for name, value in pairs if name.lower() not in UNFORWARDED_HEADERS}


@dataclass(frozen=True, slots=True)
class RelayRequest:
    """An HTTP request for the desktop to make to its local server (path and query only:
    the desktop decides which server, so nothing here names a host)."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


# -- switchboard -> desktop -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestFrame:
    """Make this request and answer with frames carrying `id`."""

    id: str
    request: RelayRequest


@dataclass(frozen=True, slots=True)
class CancelFrame:
    """Stop answering request `id`: nobody reads the answer any more."""

    id: str


# -- desktop -> switchboard -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResponseStart:
    """The local server answered: its status and headers; body chunks follow."""

    id: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResponseChunk:
    """The next piece of the body, in order."""

    id: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ResponseEnd:
    """The body is complete."""

    id: str


@dataclass(frozen=True, slots=True)
class ResponseError:
    """The desktop could not make the request or finish the answer (its local server is
    down, the stream broke); `status` is the one it would answer with, when it has one."""

    id: str
    message: str
    status: int | None = None


ToDesktop = RequestFrame | CancelFrame
FromDesktop = ResponseStart | ResponseChunk | ResponseEnd | ResponseError
