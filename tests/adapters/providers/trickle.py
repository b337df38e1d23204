"""A server that answers 200 and then trickles its body one byte at a time, forever.

It runs on the test's own event loop on a loopback port: every read the client makes
gets a byte well within any read timeout, so only an overall deadline ends the call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
INTERVAL = 0.02


@dataclass
class Trickle:
    """Where the server listens and how many requests it has started answering."""

    url: str
    requests: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)


async def _answer(
    trickle: Trickle, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    task = asyncio.current_task()
    assert task is not None
    trickle._tasks.add(task)
    try:
        await reader.readuntil(b"\r\n\r\n")
        trickle.requests += 1
        writer.write(HEAD + b"[")
        while True:
            await writer.drain()
            await asyncio.sleep(INTERVAL)
            writer.write(b" ")
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass  # the client gave up: what the test wants
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        trickle._tasks.discard(task)


@asynccontextmanager
async def serve_trickle() -> AsyncIterator[Trickle]:
    """A trickling server on 127.0.0.1, closed with every connection at the end."""
    holder: list[Trickle] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _answer(holder[0], reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    holder.append(Trickle(url=f"http://127.0.0.1:{port}"))
    try:
        yield holder[0]
    finally:
        server.close()
        for task in list(holder[0]._tasks):
            task.cancel()
        for task in list(holder[0]._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await server.wait_closed()
