"""A PostgreSQL server that asks for a password and refuses every one (28P01).

The machine's own PostgreSQL trusts loopback connections, so a wrong password cannot be
shown there; this speaks just enough of the wire protocol for a client to meet the
refusal a real server sends.
"""

from __future__ import annotations

import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SSL_REQUEST = 80877103
CLEARTEXT_PASSWORD = 3
REFUSAL = 'password authentication failed for user "postgres"'


class _Refuser(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        if self._startup() == SSL_REQUEST:
            self.wfile.write(b"N")  # no TLS: the client goes on in plain text
            self._startup()
        self.wfile.write(b"R" + struct.pack("!ii", 8, CLEARTEXT_PASSWORD))
        kind = self.rfile.read(1)
        (length,) = struct.unpack("!i", self.rfile.read(4))
        self.rfile.read(length - 4)
        assert kind == b"p"
        fields = b"".join(
            tag + value.encode() + b"\0"
            for tag, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", "28P01"), (b"M", REFUSAL))
        )
        body = fields + b"\0"
        self.wfile.write(b"E" + struct.pack("!i", len(body) + 4) + body)

    def _startup(self) -> int:
        (length,) = struct.unpack("!i", self.rfile.read(4))
        payload = self.rfile.read(length - 4)
        return int(struct.unpack("!i", payload[:4])[0])


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def password_refusing_postgres() -> Iterator[int]:
    """The port of a fake PostgreSQL on 127.0.0.1 refusing every password."""
    server = _Server(("127.0.0.1", 0), _Refuser)
    thread = threading.Thread(target=server.serve_forever, name="fake-postgres", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
