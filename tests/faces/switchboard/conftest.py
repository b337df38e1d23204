"""The whole app (every enabled face, as the registry mounts them) on a real uvicorn
server on loopback, in its own thread and event loop, for socket tests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.app import create_app
from switchboard.bootstrap import build_context
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.container import AppContext
from switchboard.core.events.schemas import Event
from tests.fixtures.app import User, make_settings
from tests.fixtures.threaded_server import serve_in_thread

T = TypeVar("T")


@dataclass
class LiveApp:
    """The running server, its context, and a way to run code on its loop."""

    url: str
    ctx: AppContext
    loop: asyncio.AbstractEventLoop

    async def call(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work()` on the server's loop and wait for it."""
        future = asyncio.run_coroutine_threadsafe(_run(work), self.loop)
        return await asyncio.wrap_future(future)

    async def publish(self, event: Event) -> None:
        """Publish on the server's bus."""
        await self.call(lambda: self.ctx.bus.publish(event))

    async def user(self, scopes: list[str] | None = None) -> User:
        """A new user with an API key (of `scopes`) and an access token."""
        email = f"native-{secrets.token_hex(4)}@example.com"

        async def work() -> User:
            async with self.ctx.open_services() as services:
                accounts = services.accounts
                created = await accounts.create_user(
                    UserCreate(email=email, password="a-long-password-123")
                )
                creator = Principal(user_id=created.id, email=created.email)
                key = await accounts.create_api_key(creator, name="native", scopes=scopes)
                pair = await accounts.start_session(created.id)
            return User(created.id, created.email, key.key, pair.access_token)

        return await self.call(work)


async def _run(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory, migrated_url: str) -> Iterator[LiveApp]:
    """One server per module on 127.0.0.1, stopped (bounded) afterwards."""
    settings = make_settings(tmp_path_factory.mktemp("native"), migrated_url)
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    with serve_in_thread(app, name="native-face-server") as server:
        yield LiveApp(server.url, ctx, server.loop)


@pytest.fixture
def _empty_tables_after(engine: AsyncEngine) -> None:
    """Request the engine fixture so the test's rows are removed after it."""
