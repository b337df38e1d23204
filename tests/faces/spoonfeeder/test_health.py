"""`GET /api/health`: the document's shape, from the app's live checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from tests.faces.spoonfeeder.conftest import data_of
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.comfyui_fake import ComfyFake

HarnessFactory = Callable[..., Awaitable[Harness]]
STATES = {"connected", "disconnected", "not_configured"}


def _contract(data: dict[str, Any]) -> None:
    """The document's example, field by field."""
    assert set(data) == {"status", "timestamp", "services"}
    assert set(data["services"]) == {"database", "redis", "ollama", "comfyui"}
    assert set(data["services"].values()) <= STATES
    assert data["timestamp"].endswith("Z")
    datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))


async def test_healthy_with_every_service_connected(
    harness_factory: HarnessFactory, ollama_upstream: FakeUpstream, comfyui: ComfyFake
) -> None:
    harness = await harness_factory(ollama_url=ollama_upstream.url, comfyui_url=comfyui.url)

    data = data_of(await harness.client.get("/api/health"))

    _contract(data)
    assert data["status"] == "healthy"
    # Redis is there when the suite runs with it (CI's second run), else not configured.
    redis = "connected" if harness.settings.redis_url else "not_configured"
    assert data["services"] == {
        "database": "connected",
        "redis": redis,
        "ollama": "connected",
        "comfyui": "connected",
    }


async def test_public_and_unconfigured_services_say_so(harness: Harness) -> None:
    response = await harness.client.get("/api/health")

    data = data_of(response)
    _contract(data)
    assert data["services"]["ollama"] == "not_configured"
    assert data["services"]["comfyui"] == "not_configured"
    assert data["services"]["database"] == "connected"


async def test_ollama_down_is_degraded_and_disconnected(
    harness_factory: HarnessFactory, ollama_upstream: FakeUpstream
) -> None:
    harness = await harness_factory(ollama_url=ollama_upstream.url)
    ollama_upstream.fail(status=500, path_contains="/api")

    data = data_of(await harness.client.get("/api/health"))

    assert data["services"]["ollama"] == "disconnected"
    assert data["status"] == "degraded"


async def test_the_operators_healthz_reports_ollama_too(
    harness_factory: HarnessFactory, ollama_upstream: FakeUpstream
) -> None:
    harness = await harness_factory(ollama_url=ollama_upstream.url)

    body = (await harness.client.get("/healthz")).json()

    assert body["checks"]["ollama"]["ok"] is True
