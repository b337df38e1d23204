"""A real uvicorn server on loopback, in its own thread and event loop, with test routes
over the realtime helpers (SSE, WebSocket, Socket.IO) and the app's own bus."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI, Request, WebSocket
from sqlalchemy.ext.asyncio import AsyncEngine
from sse_starlette import ServerSentEvent
from starlette.responses import JSONResponse, Response

from switchboard.api.auth import AuthChain, Bearer, Handshake, QueryToken
from switchboard.api.realtime.auth import chain_authenticator
from switchboard.api.realtime.socketio import (
    SocketIODialect,
    SocketIOHub,
    register_topic_events,
)
from switchboard.api.realtime.sse import event_stream_response
from switchboard.api.realtime.websocket import Heartbeat, accept_authenticated, pump_events
from switchboard.app import create_app
from switchboard.bootstrap import build_context
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.container import AppContext
from switchboard.core.errors import NotFound, SwitchboardError
from switchboard.core.events.access import OwnershipRegistry, TopicAccess
from switchboard.core.events.schemas import Event
from tests.fixtures.app import User, make_settings
from tests.fixtures.threaded_server import serve_in_thread
from tests.fixtures.waiting import eventually

T = TypeVar("T")
CLOSE_NOT_FOUND = 4404
SOCKETIO_PATH = "/_rt/socket.io"


@dataclass
class RealtimeServer:
    """The running server, its context, and a way to run code on its loop."""

    url: str
    ctx: AppContext
    hub: SocketIOHub
    loop: asyncio.AbstractEventLoop
    tasks: dict[str, str] = field(default_factory=dict)  # task id -> owner (ownership)

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    async def call(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work()` on the server's loop and wait for it."""
        future = asyncio.run_coroutine_threadsafe(_run(work), self.loop)
        return await asyncio.wrap_future(future)

    async def publish(self, event: Event) -> None:
        await self.call(lambda: self.ctx.bus.publish(event))

    async def subscribers(self, topic: str) -> int:
        """Live subscriptions to `topic` on the server's bus."""

        async def count() -> int:
            return int(self.ctx.bus.subscribers_of(topic))  # type: ignore[attr-defined]

        return await self.call(count)

    async def wait_for_subscribers(self, topic: str, expected: int, timeout: float = 3.0) -> None:
        """Return once `topic` has `expected` live subscriptions on the server."""

        async def reached() -> bool:
            return await self.subscribers(topic) == expected

        await eventually(reached, timeout=timeout, what=f"{expected} subscribers of {topic}")

    async def user(self, admin: bool = False) -> User:
        email = f"rt-{secrets.token_hex(4)}@example.com"

        async def work() -> User:
            async with self.ctx.unit_of_work() as uow:
                accounts = self.ctx.services(uow).accounts
                created = await accounts.create_user(
                    UserCreate(email=email, password="a-long-password-123"), is_admin=admin
                )
                creator = Principal(user_id=created.id, email=created.email, is_admin=admin)
                key = await accounts.create_api_key(creator, name="rt")
                pair = await accounts.start_session(created.id)
            return User(created.id, created.email, key.key, pair.access_token)

        return await self.call(work)


async def _run(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def build_app(ctx: AppContext, settings: Any, tasks: dict[str, str]) -> tuple[FastAPI, SocketIOHub]:
    app = create_app(settings, context=ctx)
    authenticate = chain_authenticator(ctx, AuthChain(Bearer(), QueryToken()), scope="events")
    # Tasks here are made-up ids, not job rows: answer their ownership from `tasks`.
    registry = OwnershipRegistry()

    async def task_owner(task_id: str) -> str | None:
        return tasks.get(task_id)

    registry.register("task", task_owner)
    ctx.topics = TopicAccess(registry)

    @app.get("/_rt/events")
    async def events(request: Request, topic: str) -> Response:
        try:
            principal = await authenticate(Handshake(request))
            await ctx.topics.authorize(principal, topic)
        except NotFound:
            return JSONResponse({"error": "not_found"}, status_code=404)
        except SwitchboardError:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        sub = await ctx.bus.subscribe([topic])
        return event_stream_response(
            sub,
            ping_seconds=0.2,
            ping_comment="keepalive",
            preamble=[ServerSentEvent(event="connected", data='{"status":"ok"}')],
        )

    @app.websocket("/_rt/ws")
    async def ws(websocket: WebSocket, topic: str) -> None:
        principal = await accept_authenticated(websocket, authenticate)
        if principal is None:
            return
        try:
            await ctx.topics.authorize(principal, topic)
        except NotFound:
            await websocket.close(code=CLOSE_NOT_FOUND)
            return
        sub = await ctx.bus.subscribe([topic])

        async def echo(text: str) -> None:
            await websocket.send_json({"type": "echo", "text": text})

        heartbeat = Heartbeat(interval=0.2, timeout=0.4)
        await pump_events(websocket, sub, heartbeat=heartbeat, on_message=echo)

    dialect = SocketIODialect(
        "test", authenticate, register=lambda hub: register_topic_events(hub, "test")
    )
    hub = SocketIOHub(ctx.bus, ctx.topics, [dialect], redis_url=settings.redis_url)
    # Beside the app's own hub at /socket.io (the native face's), which would answer first.
    # Mounted, the hub still sees the full path, so its own path is the whole of it.
    app.mount(SOCKETIO_PATH, hub.asgi_app(socketio_path=SOCKETIO_PATH.strip("/")))
    return app, hub


@pytest.fixture(scope="module")
def realtime_server(
    tmp_path_factory: pytest.TempPathFactory, migrated_url: str
) -> Iterator[RealtimeServer]:
    """One server per module on 127.0.0.1, stopped (bounded) afterwards."""
    data_dir: Path = tmp_path_factory.mktemp("realtime")
    settings = make_settings(data_dir, migrated_url)
    ctx = build_context(settings)
    tasks: dict[str, str] = {}
    app, hub = build_app(ctx, settings, tasks)
    with serve_in_thread(app, name="realtime-server", after=hub.aclose) as server:
        yield RealtimeServer(server.url, ctx, hub, server.loop, tasks)


@pytest.fixture(autouse=True)
def _empty_tables_after_each_test(engine: AsyncEngine) -> None:
    """Request the engine fixture so every test's rows are removed after it."""
