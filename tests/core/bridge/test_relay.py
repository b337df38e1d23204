"""The bridge relay port's semantics, through the in-memory relay and a scripted desktop."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.adapters.bridge import MemoryBridgeRelay
from switchboard.core.bridge.ports import DesktopBridges, RelayResponse
from switchboard.core.bridge.schemas import (
    RelayRequest,
    ResponseChunk,
    ResponseEnd,
    ResponseError,
    ResponseStart,
)
from switchboard.core.errors import Timeout, UpstreamRejected, UpstreamUnavailable
from tests.fixtures.bridge import ScriptedDesktop

BRIDGE = "bridge-1"
CHAT = RelayRequest("post", "/api/chat", {"content-type": "application/json"}, b"{}")
# Long enough never to expire in a test that is not about expiry.
PATIENT = 10.0
# Short, for the tests whose subject is the expiry itself.
IMPATIENT = 0.05


@pytest.fixture
def relay() -> MemoryBridgeRelay:
    return MemoryBridgeRelay()


@pytest.fixture
def desktop(relay: MemoryBridgeRelay) -> ScriptedDesktop:
    desktop = ScriptedDesktop(relay, BRIDGE)
    relay.attach(BRIDGE, desktop)
    return desktop


def start(
    relay: DesktopBridges, request: RelayRequest = CHAT, timeout: float = PATIENT
) -> asyncio.Task[RelayResponse]:
    return asyncio.create_task(relay.request(BRIDGE, request, timeout=timeout))


async def body(response: RelayResponse) -> bytes:
    return b"".join([chunk async for chunk in response])


async def yield_to_others() -> None:
    # Let every ready task run up to its next wait (no time passes).
    for _ in range(5):
        await asyncio.sleep(0)


class TestOffline:
    async def test_no_desktop_attached(self, relay: MemoryBridgeRelay) -> None:
        with pytest.raises(UpstreamUnavailable) as caught:
            await relay.request(BRIDGE, CHAT, timeout=PATIENT)
        assert caught.value.code == "bridge_offline"
        assert caught.value.message == f"The desktop bridge {BRIDGE} is not connected"
        assert not relay.is_connected(BRIDGE)

    async def test_desktop_gone_while_sending(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        desktop.gone = True
        with pytest.raises(UpstreamUnavailable) as caught:
            await relay.request(BRIDGE, CHAT, timeout=PATIENT)
        assert caught.value.code == "bridge_offline"

    async def test_detached_desktop_gets_nothing(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        assert relay.is_connected(BRIDGE)
        await relay.detach(BRIDGE, desktop)
        assert not relay.is_connected(BRIDGE)
        with pytest.raises(UpstreamUnavailable):
            await relay.request(BRIDGE, CHAT, timeout=PATIENT)
        assert desktop.frames.empty()


class TestRequest:
    async def test_request_frame_keeps_only_forwardable_headers(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        headers = {
            "Content-Type": "application/json",
            "Authorization": "Bearer sk-secret",
            "Cookie": "session=1",
            "Connection": "keep-alive",
            "Content-Length": "2",
            "Host": "example.com",
            "X-Trace": "t1",
        }
        pending = start(relay, RelayRequest("post", "/api/chat?x=1", headers, b"{}"))
        frame = await desktop.next_request()
        assert frame.request == RelayRequest(
            "POST", "/api/chat?x=1", {"content-type": "application/json", "x-trace": "t1"}, b"{}"
        )
        await desktop.answer(frame.id)
        await body(await pending)

    async def test_status_headers_and_chunks_in_order(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        lines = [b'{"n":1}\n', b'{"n":2}\n', b'{"n":3}\n', b'{"n":4}\n']
        headers = {"Content-Type": "application/x-ndjson", "Set-Cookie": "a=b"}
        answering = asyncio.create_task(desktop.answer(frame.id, *lines, headers=headers))
        response = await pending
        assert response.status == 200
        assert dict(response.headers) == {"content-type": "application/x-ndjson"}
        assert [chunk async for chunk in response] == lines
        await answering
        assert desktop.frames.empty()  # an answer read to its end is not cancelled

    async def test_concurrent_requests_are_correlated_by_id(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        first = start(relay, RelayRequest("GET", "/api/tags"))
        first_frame = await desktop.next_request()
        second = start(relay, RelayRequest("GET", "/api/ps"))
        second_frame = await desktop.next_request()
        assert first_frame.id != second_frame.id
        # Answered in the other order, interleaved chunk by chunk.
        await desktop.answer(second_frame.id, b"ps-1", end=False)
        await desktop.answer(first_frame.id, b"tags-1", end=False)
        await relay.deliver(BRIDGE, ResponseChunk(second_frame.id, b"ps-2"))
        await relay.deliver(BRIDGE, ResponseEnd(second_frame.id))
        await relay.deliver(BRIDGE, ResponseEnd(first_frame.id))
        assert await body(await second) == b"ps-1ps-2"
        assert await body(await first) == b"tags-1"

    async def test_a_desktop_cannot_answer_another_bridge(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay, timeout=IMPATIENT)
        frame = await desktop.next_request()
        await relay.deliver("bridge-2", ResponseStart(frame.id, 200))
        with pytest.raises(Timeout):
            await pending


class TestBackpressure:
    @pytest.fixture
    def relay(self) -> MemoryBridgeRelay:
        return MemoryBridgeRelay(capacity=2)

    async def test_desktop_waits_while_the_reader_is_behind(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        await desktop.answer(frame.id, end=False)
        response = await pending
        # Capacity 2: two chunks queue, the third waits for the reader.
        for chunk in (b"1", b"2"):
            await relay.deliver(BRIDGE, ResponseChunk(frame.id, chunk))
        third = asyncio.create_task(relay.deliver(BRIDGE, ResponseChunk(frame.id, b"3")))
        await yield_to_others()
        assert not third.done()
        chunks = aiter(response)
        assert await anext(chunks) == b"1"
        await asyncio.wait_for(third, PATIENT)
        ending = asyncio.create_task(relay.deliver(BRIDGE, ResponseEnd(frame.id)))
        assert [chunk async for chunk in chunks] == [b"2", b"3"]
        await ending

    async def test_closing_releases_a_waiting_desktop(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        await desktop.answer(frame.id, b"1", b"2", end=False)
        response = await pending
        third = asyncio.create_task(relay.deliver(BRIDGE, ResponseChunk(frame.id, b"3")))
        await yield_to_others()
        await response.aclose()
        await asyncio.wait_for(third, PATIENT)


class TestCancel:
    async def test_closing_early_sends_cancel(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        await desktop.answer(frame.id, b"first", end=False)
        response = await pending
        assert await anext(aiter(response)) == b"first"
        await response.aclose()
        assert (await desktop.next_cancel()).id == frame.id
        # What the desktop still sends is dropped, without waiting for a reader.
        await desktop.answer(frame.id, b"late", b"later", b"latest")
        await response.aclose()  # closing twice cancels once
        assert desktop.frames.empty()

    async def test_cancelling_the_caller_sends_cancel(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        pending.cancel()
        assert (await desktop.next_cancel()).id == frame.id
        with pytest.raises(asyncio.CancelledError):
            await pending


class TestTimeout:
    async def test_no_answer(self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop) -> None:
        pending = start(relay, timeout=IMPATIENT)
        frame = await desktop.next_request()
        with pytest.raises(Timeout) as caught:
            await pending
        assert caught.value.code == "bridge_timeout"
        assert (await desktop.next_cancel()).id == frame.id

    async def test_no_next_chunk(self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop) -> None:
        pending = start(relay, timeout=IMPATIENT)
        frame = await desktop.next_request()
        await desktop.answer(frame.id, b"one", end=False)
        response = await pending
        chunks = aiter(response)
        assert await anext(chunks) == b"one"
        with pytest.raises(Timeout):
            await anext(chunks)
        assert (await desktop.next_cancel()).id == frame.id


class TestDesktopFailures:
    async def test_detach_mid_stream(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        await desktop.answer(frame.id, b"partial", end=False)
        response = await pending
        reading = asyncio.create_task(body(response))
        await yield_to_others()
        await relay.detach(BRIDGE, desktop)
        with pytest.raises(UpstreamUnavailable) as caught:
            await reading
        assert caught.value.code == "bridge_offline"
        assert desktop.frames.empty()  # nothing to cancel on a desktop that left

    async def test_detach_before_the_answer(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        await desktop.next_request()
        await relay.detach(BRIDGE, desktop)
        with pytest.raises(UpstreamUnavailable, match="not connected"):
            await pending

    async def test_a_new_connection_replaces_the_old(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        await desktop.next_request()
        newer = ScriptedDesktop(relay, BRIDGE)
        relay.attach(BRIDGE, newer)
        with pytest.raises(UpstreamUnavailable):
            await pending
        again = start(relay)
        await desktop.answer((await newer.next_request()).id, b"ok")
        assert await body(await again) == b"ok"
        await relay.detach(BRIDGE, desktop)  # the old one leaving changes nothing
        assert relay.is_connected(BRIDGE)

    @pytest.mark.parametrize(
        ("status", "kind"),
        [(404, UpstreamRejected), (502, UpstreamUnavailable), (None, UpstreamUnavailable)],
    )
    async def test_reported_error(
        self,
        relay: MemoryBridgeRelay,
        desktop: ScriptedDesktop,
        status: int | None,
        kind: type[Exception],
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        await relay.deliver(BRIDGE, ResponseError(frame.id, "Ollama is not running", status))
        with pytest.raises(kind) as caught:
            await pending
        assert "Ollama is not running" in str(caught.value)
        assert getattr(caught.value, "upstream_status", None) == status
        assert desktop.frames.empty()  # it ended the request itself

    async def test_error_after_chunks(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        await desktop.answer(frame.id, b"part", end=False)
        response = await pending
        await relay.deliver(BRIDGE, ResponseError(frame.id, "stream broke"))
        chunks = aiter(response)
        assert await anext(chunks) == b"part"
        with pytest.raises(UpstreamUnavailable, match="stream broke"):
            await anext(chunks)

    async def test_chunk_before_start_is_malformed(
        self, relay: MemoryBridgeRelay, desktop: ScriptedDesktop
    ) -> None:
        pending = start(relay)
        frame = await desktop.next_request()
        await relay.deliver(BRIDGE, ResponseChunk(frame.id, b"early"))
        with pytest.raises(UpstreamUnavailable) as caught:
            await pending
        assert caught.value.code == "bridge_malformed"
        assert (await desktop.next_cancel()).id == frame.id
