"""The streaming response: client departures under ASGI 2.3, without anyio's task group."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from switchboard.api.responses import StreamingResponse
from tests.fixtures.waiting import eventually


def http_scope(spec: str = "2.3") -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": spec}}


class Client:
    """ASGI `receive` and `send` of a client that may leave after `leave_after` chunks."""

    def __init__(self, leave_after: int | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.leave_after = leave_after
        self._left = asyncio.Event()

    @property
    def chunks(self) -> list[bytes]:
        return [m["body"] for m in self.messages if m.get("more_body")]

    async def receive(self) -> dict[str, Any]:
        await self._left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if self.leave_after is not None and len(self.chunks) >= self.leave_after:
            self._left.set()


async def respond(body: AsyncIterator[bytes], client: Client, spec: str = "2.3") -> None:
    response = StreamingResponse(body, media_type="text/event-stream")
    await response(http_scope(spec), client.receive, client.send)  # type: ignore[arg-type]


async def ticking(closed: asyncio.Event, count: int = 1000) -> AsyncIterator[bytes]:
    try:
        for i in range(count):
            yield f"data: {i}\n\n".encode()
            await asyncio.sleep(0.001)  # a slow source on purpose: the client leaves mid-way
    finally:
        closed.set()


@pytest.mark.parametrize("spec", ["2.3", "2.4"])
async def test_streams_every_chunk_then_ends(spec: str) -> None:
    client = Client()
    closed = asyncio.Event()
    await respond(ticking(closed, count=3), client, spec)
    assert client.chunks == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
    assert client.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert closed.is_set()


async def test_a_client_that_leaves_closes_the_body_and_ends_quietly() -> None:
    client = Client(leave_after=3)
    closed = asyncio.Event()
    await respond(ticking(closed), client)  # returns, does not raise
    assert closed.is_set()
    assert 3 <= len(client.chunks) < 10
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_cancellation_from_elsewhere_still_propagates() -> None:
    client = Client()
    closed = asyncio.Event()
    task = asyncio.create_task(respond(ticking(closed), client))
    await eventually(lambda: client.chunks, what="the stream under way")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed.is_set()


async def test_an_error_of_the_body_propagates() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"data: partial\n\n"
        raise RuntimeError("boom")

    client = Client()
    with pytest.raises(RuntimeError, match="boom"):
        await respond(failing(), client)
    assert client.chunks == [b"data: partial\n\n"]


async def test_no_watcher_is_left_behind() -> None:
    before = asyncio.all_tasks()
    await respond(ticking(asyncio.Event(), count=2), Client())
    await asyncio.sleep(0)  # one loop turn, for a watcher task to finish if one were left
    assert asyncio.all_tasks() - before == set()
