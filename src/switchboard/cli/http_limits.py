"""uvicorn's HTTP/1.1 protocols with the limits a public server needs, whichever parser runs.

uvicorn enforces no header limit with httptools (its `h11_max_incomplete_event_size`
applies to h11 only), answers h11's own limit with a 400, and gives a client as long as it
likes to send a request's head. These subclasses add, for both parsers:

- a cap on the request head's bytes and on its number of headers, answered 431;
- a deadline for the head, counted from the connection (or from the first byte of the
  next request on a kept-alive connection): a client trickling its headers is cut off;
- the keep-alive timeout in seconds as configured (uvicorn's option is whole seconds).

uvicorn instantiates the protocol class itself, in each worker process (spawned: the
class travels by name), so the limits come from the process's settings unless a subclass
sets `limits` (tests do).
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from switchboard.config import Settings

# How long a refused connection's further input is read and dropped before closing:
# closing with unread input makes the kernel send a reset, which can destroy the 431
# before the client reads it.
LINGER_SECONDS = 2.0
_REASON = b"Request header fields too large"
REFUSAL_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_REASON)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _REASON
)
# Per header line, besides its name and value: ": " and CRLF.
_LINE_OVERHEAD = 4


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one connection may send before its request runs."""

    max_header_bytes: int
    max_headers: int
    header_timeout_seconds: float
    keepalive_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        """The limits `settings` configure."""
        return cls(
            max_header_bytes=settings.http_max_header_bytes,
            max_headers=settings.http_max_headers,
            header_timeout_seconds=settings.http_header_timeout_seconds,
            keepalive_timeout_seconds=settings.http_keepalive_timeout_seconds,
        )


@functools.cache
def process_limits() -> HttpLimits:
    """The limits of this process's settings (read once per worker process)."""
    return HttpLimits.from_settings(Settings())


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a request head over the limits."""


class _HeadGuard:
    """The head deadline and the 431 refusal, shared by both parsers' protocols."""

    limits: ClassVar[HttpLimits | None] = None
    _transport: asyncio.Transport | None
    _loop: asyncio.AbstractEventLoop
    _head_timer: asyncio.TimerHandle | None
    _refused: bool
    _limits: HttpLimits
    timeout_keep_alive: int

    def _init_guard(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport = None
        self._head_timer = None
        self._refused = False
        self._limits = self.limits or process_limits()
        # uvicorn annotates whole seconds but only hands the value to the loop's timers.
        self.timeout_keep_alive = self._limits.keepalive_timeout_seconds  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._transport = cast(asyncio.Transport, transport)
        self._start_head_clock(self._limits.header_timeout_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_clock()
        super().connection_lost(exc)  # type: ignore[misc]

    def _start_head_clock(self, seconds: float) -> None:
        if self._head_timer is None:
            self._head_timer = self._loop.call_later(seconds, self._head_expired)

    def _stop_head_clock(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if self._transport is not None and not self._responding():
            self._transport.close()

    def _responding(self) -> bool:
        """Whether a response is under way (a pipelined head must not cut it off)."""
        raise NotImplementedError

    def _refuse(self) -> None:
        """Answer 431, then drop what the client still sends for a moment and close."""
        self._refused = True
        self._stop_head_clock()
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.write(REFUSAL_431)
        if transport.can_write_eof():
            transport.write_eof()
            self._loop.call_later(LINGER_SECONDS, transport.close)
        else:
            transport.close()


class LimitedH11Protocol(_HeadGuard, H11Protocol):
    """uvicorn's h11 protocol with the head limits (h11 is used when httptools is absent)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._init_guard(self.loop)
        self._status_hint = 400
        # h11 refuses an incomplete head over this size itself (its error hints 431).
        self.conn = h11.Connection(h11.SERVER, self._limits.max_header_bytes)
        self._next_event = self.conn.next_event
        self.conn.next_event = self._checked_next_event  # type: ignore[method-assign]

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self.conn.their_state is h11.IDLE:
            self._start_head_clock(self._limits.header_timeout_seconds)
        super().data_received(data)

    def _checked_next_event(self) -> Any:
        try:
            event = self._next_event()
        except h11.RemoteProtocolError as exc:
            self._status_hint = exc.error_status_hint
            raise
        if isinstance(event, h11.Request):
            self._stop_head_clock()
            size = len(event.target) + sum(
                len(name) + len(value) + _LINE_OVERHEAD for name, value in event.headers
            )
            limits = self._limits
            if len(event.headers) > limits.max_headers or size > limits.max_header_bytes:
                self._status_hint = 431
                raise h11.RemoteProtocolError("Request head too large", error_status_hint=431)
        return event

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers every h11 protocol error 400; a head over the limits is a 431.
        if self._status_hint == 431:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _responding(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete


try:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn[standard] installs httptools
    HTTPTOOLS = False
else:
    HTTPTOOLS = True

    class LimitedHttpToolsProtocol(_HeadGuard, HttpToolsProtocol):
        """uvicorn's httptools protocol with the head limits.

        llhttp keeps no limit of its own: the head's bytes are counted as they arrive
        (so a never-ending header line is cut off after about the limit, not buffered),
        and exactly, line by line, from the parser's callbacks.
        """

        def __init__(
            self,
            config: Config,
            server_state: ServerState,
            app_state: dict[str, Any],
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            super().__init__(config, server_state, app_state, _loop)
            self._init_guard(self.loop)
            self._reading_head = True
            self._arrived = 0  # bytes received while the head is incomplete
            self._head_size = 0  # bytes of the head's parsed target and lines
            self._header_count = 0

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            if self._reading_head:
                self._arrived += len(data)
            self._unset_keepalive_if_required()
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserCallbackError as exc:
                if isinstance(exc.__context__, HeadTooLarge):
                    self._refuse()
                else:
                    self._invalid()
                return
            except httptools.HttpParserError:
                self._invalid()
                return
            except httptools.HttpParserUpgrade:
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                else:
                    self._unsupported_upgrade_warning()
                return
            if self._reading_head and self._arrived > self._limits.max_header_bytes:
                self._refuse()

        def _invalid(self) -> None:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._reading_head = True
            self._head_size = 0
            self._header_count = 0
            self._start_head_clock(self._limits.header_timeout_seconds)

        def on_url(self, url: bytes) -> None:
            self._grow_head(len(url), 0)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._grow_head(len(name) + len(value) + _LINE_OVERHEAD, 1)
            super().on_header(name, value)

        def _grow_head(self, size: int, lines: int) -> None:
            self._head_size += size
            self._header_count += lines
            limits = self._limits
            if self._head_size > limits.max_header_bytes or self._header_count > limits.max_headers:
                raise HeadTooLarge

        def on_headers_complete(self) -> None:
            self._stop_head_clock()
            self._reading_head = False
            self._arrived = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._reading_head = True
            super().on_message_complete()

        def _responding(self) -> bool:
            return self.cycle is not None and not self.cycle.response_complete


def protocol_class() -> type[asyncio.Protocol]:
    """The limited protocol for the parser uvicorn would pick ("auto": httptools if present)."""
    if HTTPTOOLS:
        return LimitedHttpToolsProtocol
    return LimitedH11Protocol  # pragma: no cover - uvicorn[standard] installs httptools
