"""A crash or a shutdown mid-stream, through real `switchboard serve` processes (issue 11,
item 7).

- `kill -9` mid-reply: the text flushed so far survives; once the dead replica's lease
  lapses, the restarted server's sweep makes the row `partial`, reason `server_restart`.
- SIGTERM mid-stream: every open stream ends with its dialect's terminal event (OpenAI:
  an error chunk then `[DONE]`; PocketLLM: `error`; the native event stream:
  `stream.closed`), the reply row says `partial`, reason `server_shutdown`, and the
  process exits 0 within the grace period.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from switchboard.bootstrap import build_context
from switchboard.core.container import AppContext
from switchboard.kit.ids import new_id
from switchboard.models import Message
from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.fixtures.app import User, make_settings
from tests.fixtures.sse import sse_events
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.e2e

WORDS = [f"word{i}" for i in range(400)]
GRACE_SECONDS = 5.0


def _env(upstream: FakeUpstream, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": OPENAI_TEST_KEY,
        "OPENAI_BASE_URL": upstream.url + "/v1",
        # Flush every 0.2 s: the lease (ten intervals, at least 2 s) lapses soon after.
        "SWITCHBOARD_STREAM_FLUSH_INTERVAL_SECONDS": "0.2",
        "SWITCHBOARD_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        **extra,
    }


@pytest.fixture
async def rows(tmp_path: Path, migrated_url: str) -> AsyncIterator[AppContext]:
    """A context on the servers' database, to read reply rows as they are stored."""
    ctx = build_context(make_settings(tmp_path / "reader", migrated_url))
    yield ctx
    await ctx.engine.dispose()


async def _assistant_row(ctx: AppContext, chat_id: str) -> Message | None:
    async with ctx.unit_of_work() as uow:
        found = await uow.session.scalars(
            select(Message)
            .where(Message.conversation_id == chat_id, Message.role == "assistant")
            .order_by(Message.seq.desc())
        )
        return found.first()


async def _new_chat(client: httpx.AsyncClient, server: LiveServer, user: User) -> str:
    chat = await client.post(
        server.url + "/v1/chats",
        json={"title": "t", "model_config": {"provider": "openai", "model": "fake-model"}},
        headers=user.token_headers,
    )
    assert chat.status_code in (200, 201), chat.text
    chat_id: str = chat.json()["data"]["id"]
    return chat_id


async def _pocketllm_stream(
    client: httpx.AsyncClient, server: LiveServer, user: User, chat_id: str, into: list[Any]
) -> None:
    async with client.stream(
        "POST",
        server.url + f"/v1/chats/{chat_id}/messages",
        json={"content": "go", "stream": True},
        headers=user.token_headers,
    ) as response:
        assert response.status_code == 200, await response.aread()
        async for event in sse_events(response):
            into.append((event.event, event.json()))


def _received_text(events: list[Any]) -> str:
    return "".join(data["content"] for kind, data in events if kind == "delta")


async def test_kill_9_mid_reply_leaves_the_flushed_text_partial_after_restart(
    tmp_path: Path, migrated_url: str, openai_upstream: FakeUpstream, rows: AppContext
) -> None:
    openai_upstream.chunk_delay = 0.05
    openai_upstream.reply(" ".join(WORDS))
    server = start_server(tmp_path / "data", migrated_url, _env(openai_upstream))
    try:
        user = await server.user(f"{new_id()}@example.com")
        events: list[Any] = []
        async with httpx.AsyncClient(timeout=30) as client:
            chat_id = await _new_chat(client, server, user)
            streaming = asyncio.create_task(
                _pocketllm_stream(client, server, user, chat_id, events)
            )

            async def flushed() -> Message | None:
                row = await _assistant_row(rows, chat_id)
                return row if row is not None and row.content.count("word") >= 5 else None

            await eventually(flushed, timeout=30, what="text flushed mid-stream")
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=10)
            streaming.cancel()
            await asyncio.gather(streaming, return_exceptions=True)
        received = _received_text(events)
        row = await _assistant_row(rows, chat_id)
        assert row is not None and row.status == "streaming"  # nobody finished it
        assert row.content and received.startswith(row.content)
        saved = row.content
    finally:
        if server.process.poll() is None:
            server.process.kill()

    restarted = start_server(tmp_path / "data", migrated_url, _env(openai_upstream))
    try:

        async def swept() -> Message | None:
            found = await _assistant_row(rows, chat_id)
            return found if found is not None and found.status != "streaming" else None

        final = await eventually(swept, timeout=30, what="the sweep to finish the row")
        assert final.status == "partial"
        assert final.status_reason == "server_restart"
        assert final.content == saved
        assert final.completed_at is not None and final.lease_owner is None
    finally:
        stop_server(restarted)


async def _openai_stream(
    client: httpx.AsyncClient, server: LiveServer, user: User, into: list[str]
) -> None:
    async with client.stream(
        "POST",
        server.url + "/v1/chat/completions",
        json={
            "model": "openai/fake-model",
            "messages": [{"role": "user", "content": "go"}],
            "stream": True,
        },
        headers=user.headers,
    ) as response:
        assert response.status_code == 200, await response.aread()
        async for event in sse_events(response):
            into.append(event.data)


async def _native_events(
    client: httpx.AsyncClient, server: LiveServer, user: User, into: list[Any]
) -> None:
    async with client.stream(
        "GET", server.url + "/switchboard/v1/events", headers=user.headers
    ) as response:
        assert response.status_code == 200
        into.append(("open", None))
        async for event in sse_events(response):
            into.append((event.event, event.json()))


async def test_sigterm_ends_each_stream_with_its_terminal_event_and_exits_0(
    tmp_path: Path, migrated_url: str, openai_upstream: FakeUpstream, rows: AppContext
) -> None:
    openai_upstream.chunk_delay = 0.05
    openai_upstream.reply(" ".join(WORDS))
    server = start_server(tmp_path / "data", migrated_url, _env(openai_upstream))
    try:
        user = await server.user(f"{new_id()}@example.com")
        openai_frames: list[str] = []
        pocket: list[Any] = []
        native: list[Any] = []
        async with httpx.AsyncClient(timeout=30) as client:
            chat_id = await _new_chat(client, server, user)
            streams = [
                asyncio.create_task(_openai_stream(client, server, user, openai_frames)),
                asyncio.create_task(_pocketllm_stream(client, server, user, chat_id, pocket)),
                asyncio.create_task(_native_events(client, server, user, native)),
            ]
            await eventually(
                lambda: len(openai_frames) >= 3 and _received_text(pocket) and native,
                timeout=30,
                what="all three streams flowing",
            )
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            # Every stream ends by itself (the server ends them), well within the grace.
            await asyncio.wait_for(asyncio.gather(*streams), GRACE_SECONDS)
        exit_code = await asyncio.to_thread(server.process.wait, GRACE_SECONDS + 5)
        took = time.monotonic() - signalled
    finally:
        if server.process.poll() is None:
            server.process.kill()

    # OpenAI: an error chunk, then [DONE].
    assert openai_frames[-1] == "[DONE]"
    error = json.loads(openai_frames[-2])["error"]
    assert error["code"] == "server_shutdown"
    # PocketLLM: its `error` event, carrying the partial reply.
    kind, data = pocket[-1]
    assert kind == "error"
    assert data["assistantMessage"]["content"] == _received_text(pocket)
    # The native event stream: `stream.closed` with the reason.
    kind, data = native[-1]
    assert kind == "stream.closed" and data["data"] == {"reason": "server_shutdown"}
    row = await _assistant_row(rows, chat_id)
    assert row is not None
    assert (row.status, row.status_reason) == ("partial", "server_shutdown")
    assert row.content == _received_text(pocket)
    # Then a clean exit, before a supervisor would kill it.
    assert took < GRACE_SECONDS + 3
    assert exit_code == 0, server.log.read_text()[-3000:]
