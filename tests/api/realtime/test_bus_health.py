"""Redis going away: the server stays up and reports the bus degraded."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager

from switchboard.adapters.bus.memory import MemoryBus
from switchboard.adapters.bus.redis import RedisBus
from switchboard.app import create_app
from switchboard.bootstrap import build_context
from switchboard.config import Settings
from switchboard.core.events.errors import BusUnavailable
from switchboard.core.events.schemas import Event


def dead_redis_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


async def healthz(settings: Settings) -> tuple[int, dict[str, object], object]:
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        response = await client.get("/healthz")
        if isinstance(ctx.bus, RedisBus):
            with pytest.raises(BusUnavailable):
                await ctx.bus.publish(Event(topic="system", type="x"))
        return response.status_code, response.json(), ctx.bus


async def test_memory_bus_without_redis(settings_factory: Callable[..., Settings]) -> None:
    status, body, bus = await healthz(settings_factory(redis_url=None))
    assert isinstance(bus, MemoryBus)
    assert status == 200
    assert "event_bus" not in body["checks"]  # type: ignore[operator]


async def test_redis_down_server_up_and_degraded(
    settings_factory: Callable[..., Settings],
) -> None:
    status, body, bus = await healthz(settings_factory(redis_url=dead_redis_url()))
    assert isinstance(bus, RedisBus)
    assert status == 200
    assert body["status"] == "degraded"
    checks: dict[str, dict[str, object]] = body["checks"]  # type: ignore[assignment]
    assert checks["event_bus"]["ok"] is False
    assert checks["database"]["ok"] is True
