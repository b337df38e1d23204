"""Issue 11 item 6: header limits, head and keep-alive deadlines and the connection
ceiling hold through a real uvicorn server, with either HTTP parser."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from switchboard.cli.http_limits import (
    HttpLimits,
    LimitedH11Protocol,
    LimitedHttpToolsProtocol,
    protocol_class,
)
from switchboard.cli.server import server_options
from tests.e2e.conftest import start_server, stop_server
from tests.fixtures.app import make_settings
from tests.fixtures.network import free_port
from tests.fixtures.waiting import wait_until

PROTOCOLS = [
    pytest.param(LimitedHttpToolsProtocol, id="httptools"),
    pytest.param(LimitedH11Protocol, id="h11"),
]
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n"
MB = 1024 * 1024


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def limited_server(
    tmp_path: Path, protocol: type[Any], **overrides: Any
) -> Iterator[tuple[int, uvicorn.Server]]:
    """`ok_app` served with the options `switchboard serve` uses for these settings."""
    settings = make_settings(tmp_path, "sqlite+aiosqlite:///:memory:", **overrides)
    options = server_options(settings)
    assert options["http"] is protocol_class()
    limits = HttpLimits.from_settings(settings)
    options["http"] = type(f"Test{protocol.__name__}", (protocol,), {"limits": limits})
    port = free_port()
    config = uvicorn.Config(
        ok_app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", **options
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()

    def serve() -> None:
        try:
            loop.run_until_complete(server.serve())
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name="h3-limits", daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), timeout=15, what="server start")
    assert server.started
    try:
        yield port, server
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive()


def status_of(sock: socket.socket) -> int:
    """The status of the next response on `sock` (its head only is read)."""
    sock.settimeout(10)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without a response after {data!r}"
        data += chunk
    return int(data.split(b" ", 2)[1])


def exchange(port: int, request: bytes) -> int:
    """Send `request` from a thread while the answer is read: a server that answers before
    the request has been sent whole must get its answer through."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:

        def send_all() -> None:
            # The server may answer and close before taking it all.
            with contextlib.suppress(OSError):
                sock.sendall(request)

        sender = threading.Thread(target=send_all, name="h3-sender", daemon=True)
        sender.start()
        try:
            return status_of(sock)
        finally:
            sock.shutdown(socket.SHUT_RDWR)
            sender.join(timeout=10)


def extra_headers(count: int) -> bytes:
    """`count` small header lines."""
    return b"".join(b"X-%d: v\r\n" % i for i in range(count))


def closed_by_server(sock: socket.socket, timeout: float = 10) -> bool:
    """Whether the server closes `sock` within `timeout` seconds (what it still sends, such
    as the rest of a response, is read and dropped)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return False
        try:
            if sock.recv(65536) == b"":
                return True
        except ConnectionResetError:
            return True
    return False


@pytest.mark.parametrize("protocol", PROTOCOLS)
class TestHeaderLimits:
    @pytest.mark.parametrize("size", [1 * MB, 8 * MB], ids=["1MB", "8MB"])
    def test_an_oversized_header_line_is_431(
        self, tmp_path: Path, protocol: type[Any], size: int
    ) -> None:
        with limited_server(tmp_path, protocol) as (port, _):
            request = REQUEST + b"X-Big: " + b"a" * size + b"\r\n\r\n"
            assert exchange(port, request) == 431

    def test_ten_thousand_headers_are_431(self, tmp_path: Path, protocol: type[Any]) -> None:
        with limited_server(tmp_path, protocol) as (port, _):
            assert exchange(port, REQUEST + extra_headers(10_000) + b"\r\n") == 431

    def test_the_header_count_is_its_own_limit(self, tmp_path: Path, protocol: type[Any]) -> None:
        # 21 small lines (Host and 20 more) are far under the byte limit.
        with limited_server(tmp_path, protocol, http_max_headers=20) as (port, _):
            assert exchange(port, REQUEST + extra_headers(19) + b"\r\n") == 200
            assert exchange(port, REQUEST + extra_headers(20) + b"\r\n") == 431

    def test_a_head_within_the_limit_is_served(self, tmp_path: Path, protocol: type[Any]) -> None:
        with limited_server(tmp_path, protocol, http_max_header_bytes=8192) as (port, _):
            assert exchange(port, REQUEST + b"X-Big: " + b"a" * 7000 + b"\r\n\r\n") == 200
            assert exchange(port, REQUEST + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n") == 431


@pytest.mark.parametrize("protocol", PROTOCOLS)
class TestSlowClients:
    def test_a_trickled_head_is_cut_off_at_its_deadline(
        self, tmp_path: Path, protocol: type[Any]
    ) -> None:
        # Bytes keep arriving, so only a deadline on the whole head ends this.
        with (
            limited_server(tmp_path, protocol, http_header_timeout_seconds=0.5) as (port, _),
            socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        ):
            sock.sendall(REQUEST + b"X-Slow: ")
            deadline = time.monotonic() + 10
            closed = False
            while not closed and time.monotonic() < deadline:
                try:
                    sock.sendall(b"a")
                except OSError:
                    closed = True
                    break
                closed = closed_by_server(sock, timeout=0.05)  # the attacker's pace
            assert closed

    def test_a_connection_that_sends_nothing_is_closed(
        self, tmp_path: Path, protocol: type[Any]
    ) -> None:
        with (
            limited_server(tmp_path, protocol, http_header_timeout_seconds=0.3) as (port, _),
            socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        ):
            assert closed_by_server(sock)

    def test_an_idle_kept_alive_connection_is_closed(
        self, tmp_path: Path, protocol: type[Any]
    ) -> None:
        with (
            limited_server(tmp_path, protocol, http_keepalive_timeout_seconds=0.3) as (port, _),
            socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        ):
            sock.sendall(REQUEST + b"\r\n")
            assert status_of(sock) == 200
            assert closed_by_server(sock)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_connections_beyond_the_ceiling_are_503(tmp_path: Path, protocol: type[Any]) -> None:
    with limited_server(tmp_path, protocol, max_connections=2) as (port, server):
        first = socket.create_connection(("127.0.0.1", port), timeout=10)
        with first, socket.create_connection(("127.0.0.1", port), timeout=10) as second:
            for sock in (first, second):
                sock.sendall(REQUEST + b"\r\n")
                assert status_of(sock) == 200
            assert exchange(port, REQUEST + b"\r\n") == 503
            first.close()
            connections = server.server_state.connections
            wait_until(lambda: len(connections) == 1, timeout=10, what="the close to be seen")
            assert exchange(port, REQUEST + b"\r\n") == 200


def test_switchboard_serve_enforces_the_limits(tmp_path: Path, migrated_url: str) -> None:
    """The real entry point: uvicorn left to itself picked httptools and answered 200."""
    live = start_server(tmp_path / "data", migrated_url, {"SWITCHBOARD_MAX_CONNECTIONS": "64"})
    try:
        port = int(live.url.rsplit(":", 1)[1])
        assert exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 200
        assert exchange(port, REQUEST + b"X-Big: " + b"a" * MB + b"\r\n\r\n") == 431
        assert exchange(port, REQUEST + extra_headers(10_000) + b"\r\n") == 431
    finally:
        stop_server(live)
