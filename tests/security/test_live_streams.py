"""Streams, through a real server (issue 11): the cap on concurrent streams per user
(item 5: the 33rd is refused 429 with `Retry-After`, in each face's envelope), and live
event streams that end once their credential is revoked (item 13: SSE and Socket.IO,
re-checked every heartbeat)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.api import faces
from switchboard.app import create_app
from switchboard.bootstrap import build_context
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.schemas import UserCreate
from switchboard.faces.switchboard.routes import events as events_route
from tests.fixtures.app import make_settings
from tests.fixtures.live_app import LiveApp
from tests.fixtures.sse import sse_events
from tests.fixtures.threaded_server import serve_in_thread
from tests.fixtures.waiting import eventually

HEARTBEAT = 0.2
CAP = 32


@dataclass(frozen=True)
class Caller:
    id: str
    key: str
    key_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def token_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def live(
    tmp_path: Path, migrated_url: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveApp]:
    """The whole app on a real server, with short heartbeats (and so re-checks)."""
    monkeypatch.setattr(events_route, "HEARTBEAT_SECONDS", HEARTBEAT)
    monkeypatch.setattr(faces, "SOCKETIO_RECHECK_SECONDS", HEARTBEAT)
    settings = make_settings(tmp_path / "data", migrated_url)
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    with serve_in_thread(app, name="h4-streams") as server:
        yield LiveApp(server.url, ctx, server.loop)


async def _caller(live: LiveApp) -> Caller:
    async def work() -> Caller:
        async with live.ctx.open_services() as services:
            accounts = services.accounts
            created = await accounts.create_user(
                UserCreate(
                    email=f"h4-{secrets.token_hex(4)}@example.com", password="a-long-password-1"
                )
            )
            creator = Principal(user_id=created.id, email=created.email)
            key = await accounts.create_api_key(creator, name="h4")
            pair = await accounts.start_session(created.id)
        return Caller(created.id, key.key, key.id, pair.access_token)

    return await live.call(work)


async def _open_events(
    stack: AsyncExitStack, client: httpx.AsyncClient, caller: Caller
) -> httpx.Response:
    return await stack.enter_async_context(
        client.stream("GET", "/switchboard/v1/events", headers=caller.headers)
    )


async def test_the_33rd_concurrent_stream_is_refused_in_each_faces_envelope(
    live: LiveApp,
) -> None:
    user, other = await _caller(live), await _caller(live)
    limits = httpx.Limits(max_connections=CAP + 10)
    async with (
        httpx.AsyncClient(base_url=live.url, limits=limits, timeout=10) as client,
        AsyncExitStack() as stack,
    ):
        chat = await client.post(
            "/v1/chats",
            json={"title": "t", "model_config": {"provider": "echo", "model": "echo"}},
            headers=user.token_headers,
        )
        assert chat.status_code == 201, chat.text
        chat_id = chat.json()["data"]["id"]
        opened = [await _open_events(stack, client, user) for _ in range(CAP)]
        assert all(r.status_code == 200 for r in opened)

        native = await client.get("/switchboard/v1/events", headers=user.headers)
        assert native.status_code == 429
        assert int(native.headers["Retry-After"]) >= 1
        assert native.json()["error"]["code"] == "too_many_streams"

        gateway = await client.post(
            "/v1/chat/completions",
            json={
                "model": "echo/echo",
                "messages": [{"role": "user", "content": "x"}],
                "stream": True,
            },
            headers=user.headers,
        )
        assert gateway.status_code == 429 and "Retry-After" in gateway.headers
        assert gateway.json()["error"]["code"] == "rate_limit_exceeded"  # OpenAI's own code
        assert "concurrent streams" in gateway.json()["error"]["message"]

        pocket = await client.post(
            f"/v1/chats/{chat_id}/messages",
            json={"content": "x", "stream": True},
            headers=user.token_headers,
        )
        assert pocket.status_code == 429 and "Retry-After" in pocket.headers
        assert pocket.json()["success"] is False
        messages = await client.get(f"/v1/chats/{chat_id}/messages", headers=user.token_headers)
        assert messages.json()["data"] == []  # refused before anything was stored

        # Another user is not affected, and a closed stream frees its slot.
        async with client.stream("GET", "/switchboard/v1/events", headers=other.headers) as theirs:
            assert theirs.status_code == 200
        await opened[0].aclose()

        async def admitted() -> bool:
            async with client.stream(
                "GET", "/switchboard/v1/events", headers=user.headers
            ) as again:
                return again.status_code == 200

        await eventually(admitted, timeout=10, what="the freed slot")


async def _revoke_key(live: LiveApp, caller: Caller) -> None:
    async def work() -> None:
        async with live.ctx.open_services() as services:
            await services.accounts.revoke_api_key(caller.id, caller.key_id)

    await live.call(work)


async def test_an_event_stream_ends_when_its_api_key_is_revoked(live: LiveApp) -> None:
    caller = await _caller(live)
    received: list[Any] = []
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=10) as client,
        client.stream("GET", "/switchboard/v1/events", headers=caller.headers) as response,
    ):
        assert response.status_code == 200
        await _revoke_key(live, caller)
        # The stream ends by itself: this loop finishes only when the server closes it.
        async for event in sse_events(response):
            received.append((event.event, event.json()))
    kind, body = received[-1]
    assert kind == "stream.closed"
    assert body["data"]["reason"]  # the credential's refusal code
    assert body["data"]["reason"] != "server_shutdown"


async def test_an_event_stream_ends_when_its_access_token_expires(live: LiveApp) -> None:
    caller = await _caller(live)
    claims = live.ctx.signer.decode(caller.token)
    # A token of the same live session that expires in two to three seconds (whole-second
    # JWT times), long enough to open the stream with it on a loaded machine.
    short = live.ctx.signer.issue(
        user_id=caller.id,
        session_id=claims.session_id,
        token_version=claims.token_version,
        ttl_seconds=3,
    )
    received: list[Any] = []
    headers = {"Authorization": f"Bearer {short.token}"}
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=10) as client,
        client.stream("GET", "/switchboard/v1/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        async for event in sse_events(response):  # ends only when the server closes it
            received.append((event.event, event.json()))
    kind, body = received[-1]
    assert kind == "stream.closed" and body["data"]["reason"] != "server_shutdown"


async def test_a_socketio_connection_ends_when_its_credential_is_revoked(
    live: LiveApp,
) -> None:
    caller = await _caller(live)
    client = socketio.AsyncClient(reconnection=False)
    closed: asyncio.Queue[Any] = asyncio.Queue()
    gone = asyncio.Event()
    client.on("stream.closed", closed.put)
    client.on("disconnect", lambda *_: gone.set())
    await client.connect(
        live.url, auth={"token": caller.token}, transports=["websocket"], wait_timeout=5
    )
    try:

        async def logout() -> None:
            async with live.ctx.open_services() as services:
                await services.accounts.logout_everywhere(caller.id)

        await live.call(logout)
        body = await asyncio.wait_for(closed.get(), 10)
        assert body["reason"] and body["reason"] != "server_shutdown"
        await asyncio.wait_for(gone.wait(), 10)
    finally:
        await client.disconnect()


async def test_a_live_credential_keeps_its_stream(live: LiveApp) -> None:
    caller = await _caller(live)
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=10) as client,
        client.stream("GET", "/switchboard/v1/events", headers=caller.headers) as response,
    ):
        pings = 0
        async for event in sse_events(response, comments=True):
            assert event.event != "stream.closed", "a live credential's stream was closed"
            if event.is_comment:
                pings += 1
            if pings >= 3:  # three heartbeats, three re-checks passed
                break
        assert pings >= 3
