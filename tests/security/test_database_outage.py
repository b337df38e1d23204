"""Issue 11, item 9: a database outage is a 503 with `Retry-After`, never a 500 or a reset.

A real server is started on a database it reaches through something the test controls:
on PostgreSQL a TCP proxy the test cuts (live connections dropped, new ones refused);
on SQLite the directory holding the file, which the test moves away (new connections
cannot open it) after the server's pool is emptied. Every face then answers 503 with
`Retry-After` in its own envelope, the readiness endpoints name the database as what is
down, and once the database is back the same requests succeed again.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.app import create_app
from switchboard.bootstrap import build_context
from switchboard.config import Settings
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.container import AppContext, Services
from switchboard.kit.db import DatabaseUnavailable, create_engine, is_database_outage
from switchboard.migrations.runner import upgrade_to_head
from tests.fixtures.app import make_settings
from tests.fixtures.tcp_proxy import TcpProxy
from tests.fixtures.threaded_server import ThreadedServer, serve_in_thread


class Outage:
    """Takes the server's database away and brings it back."""

    def __init__(self, cut: Callable[[], object], restore: Callable[[], object]) -> None:
        self.cut = cut
        self.restore = restore


@contextmanager
def postgres_outage(url: str) -> Iterator[tuple[str, Outage]]:
    """The database at `url` through a proxy: (the proxied URL, how to cut it)."""
    parsed = make_url(url)
    proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    try:
        proxied = parsed.set(host="127.0.0.1", port=proxy.port)
        yield proxied.render_as_string(hide_password=False), Outage(proxy.cut, proxy.restore)
    finally:
        proxy.close()


@asynccontextmanager
async def sqlite_outage(directory: Path) -> AsyncIterator[tuple[str, Outage]]:
    """A fresh migrated SQLite file in `directory`; the outage moves the directory away."""
    home = directory / "db"
    home.mkdir()
    url = f"sqlite+aiosqlite:///{home / 'switchboard.db'}"
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()
    away = directory / "moved"
    yield url, Outage(lambda: home.rename(away), lambda: away.rename(home))


async def _user(ctx: AppContext, email: str) -> str:
    """A new user's API key with every scope, made on the test's own context."""

    async def work(services: Services) -> str:
        user = await services.accounts.create_user(
            UserCreate(email=email, password="a-long-password-123")
        )
        creator = Principal(user_id=user.id, email=user.email)
        return (await services.accounts.create_api_key(creator, name="outage")).key

    async with ctx.unit_of_work() as uow:
        key: str = await work(ctx.services(uow))
    return key


@contextmanager
def _server(settings: Settings) -> Iterator[tuple[ThreadedServer, AppContext]]:
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    with serve_in_thread(app, name="outage-server") as server:
        yield server, ctx


def _empty_pool(server: ThreadedServer, ctx: AppContext) -> None:
    # The server's pooled connections would keep a moved SQLite file open.
    asyncio.run_coroutine_threadsafe(ctx.engine.dispose(), server.loop).result(timeout=10)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1


async def test_a_database_outage_is_a_503_with_retry_after_in_each_face(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    if engine.dialect.name == "postgresql":
        outage_cm: Any = _async(postgres_outage(engine.url.render_as_string(False)))
    else:
        outage_cm = sqlite_outage(tmp_path)
    async with outage_cm as (url, outage):
        settings = make_settings(tmp_path / "data", url)
        side = build_context(settings)  # the test's own connections, on its own loop
        try:
            keys = [await _user(side, f"u{i}@example.com") for i in range(2)]
        finally:
            await side.engine.dispose()
            await side.providers.factory.aclose()
        with _server(settings) as (server, ctx):
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                before = await http.get("/switchboard/v1/jobs", headers=_bearer(keys[0]))
                assert before.status_code == 200, before.text
                outage.cut()
                try:
                    if engine.dialect.name == "sqlite":
                        _empty_pool(server, ctx)
                    await _check_every_face(http, keys)
                finally:
                    outage.restore()
                after = await http.get("/switchboard/v1/jobs", headers=_bearer(keys[0]))
                assert after.status_code == 200, after.text
                ready = await http.get("/healthz")
                assert ready.status_code == 200, ready.text


async def _check_every_face(http: httpx.AsyncClient, keys: list[str]) -> None:
    native = await http.get("/switchboard/v1/jobs", headers=_bearer(keys[0]))
    _assert_unavailable(native)
    assert native.json()["error"]["code"] == "database_unavailable"
    # A key never seen before: authenticating it needs the database.
    gateway = await http.post(
        "/v1/chat/completions",
        headers=_bearer(keys[1]),
        json={"model": "echo", "messages": [{"role": "user", "content": "hi"}]},
    )
    _assert_unavailable(gateway)
    assert gateway.json()["error"]["type"] == "server_error"
    pocket = await http.get("/v1/chats", headers=_bearer(keys[0]))
    _assert_unavailable(pocket)
    assert pocket.json()["success"] is False
    mind = await http.get("/jobs", headers=_bearer(keys[0]))
    _assert_unavailable(mind)
    assert "correlation_id" in mind.json()["error"]
    health = await http.get("/healthz")
    assert health.status_code == 503
    assert health.json()["checks"]["database"] | {"latency_ms": 0} == {
        "ok": False,
        "latency_ms": 0,
        "error": "database unreachable",
    }
    ready = await http.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["error"]["detail"]["checks"]["db"] == "unavailable"


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def _async(manager: Any) -> AsyncIterator[Any]:
    with manager as value:
        yield value


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (DatabaseUnavailable("refused"), True),
        (
            OperationalError(
                "SELECT 1", {}, sqlite3.OperationalError("unable to open database file")
            ),
            True,
        ),
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), True),
        # sqlite3 files statement errors under the same class: those are bugs, not outages.
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x")), False),
        (IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_what_counts_as_a_database_outage(error: BaseException, outage: bool) -> None:
    assert is_database_outage(error) is outage
