"""`GET /api/health` and `GET /api/health/detailed`: the document's shapes, from the app's
live checks and the process's own figures; the detailed view for administrators only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from switchboard.api.realtime.slots import stream_slots
from switchboard.faces.cloudtolocalllm.monitor import monitor_of
from tests.faces.cloudtolocalllm import golden
from tests.faces.cloudtolocalllm.conftest import error_of
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream

HarnessFactory = Callable[..., Awaitable[Harness]]
DETAILED = "/api/health/detailed"
# What switchboard cannot measure is null (docs/faces/cloudtolocalllm.md): it runs no
# containers; without Redis there is no network round trip to time.
NULLABLE = {"infrastructure.containerCount", "infrastructure.networkLatency"}


async def health(harness: Harness) -> dict[str, Any]:
    response = await harness.client.get("/api/health")
    assert response.status_code == 200, response.text
    part = golden.health_part(response.json())
    golden.check(golden.HEALTH, part)
    return part


async def test_health_is_public_and_in_the_documents_shape(harness: Harness) -> None:
    body = await health(harness)

    assert body["status"] == "healthy"
    assert body["services"] == {
        "api": "healthy",
        "database": "healthy",
        "auth": "healthy",
        "streaming": "healthy",
    }


async def test_metrics_count_this_apps_requests_and_streams(harness: Harness) -> None:
    for _ in range(3):
        await harness.client.get("/healthz")
    user = await harness.user("streams@example.com")
    slot = stream_slots(harness.app).acquire(user.id)

    metrics = (await health(harness))["metrics"]

    # The three finished before it; the health request itself is still being answered.
    assert metrics["requestsPerMinute"] >= 3
    assert metrics["activeConnections"] == 1
    assert 0 <= metrics["uptime"] <= monitor_of(harness.ctx).uptime()
    slot.release()
    assert (await health(harness))["metrics"]["activeConnections"] == 0


async def test_the_app_has_a_monitor_of_its_own_while_it_runs(
    harness_factory: HarnessFactory,
) -> None:
    one, two = await harness_factory(), await harness_factory()

    assert monitor_of(one.ctx) is not monitor_of(two.ctx)


async def test_an_optional_dependency_down_is_degraded(
    harness_factory: HarnessFactory, ollama_upstream: FakeUpstream
) -> None:
    # This face alone: the fault below fails the next check of Ollama, whoever runs it.
    harness = await harness_factory(ollama_url=ollama_upstream.url, faces=["cloudtolocalllm"])
    assert (await health(harness))["status"] == "healthy"
    ollama_upstream.fail(status=500, path_contains="/api")

    body = await health(harness)

    # Ollama is none of the document's four services; the verdict still says it.
    assert body["status"] == "degraded"
    assert set(body["services"].values()) == {"healthy"}


async def test_detailed_health_for_an_administrator(harness: Harness) -> None:
    admin = await harness.user("admin@example.com", admin=True)

    response = await harness.client.get(DETAILED, headers=admin.token_headers)

    assert response.status_code == 200, response.text
    body = response.json()
    golden.check(golden.DETAILED, body, nullable=NULLABLE)
    assert body["status"] == "healthy"
    api, database = body["services"]["api"], body["services"]["database"]
    assert api["status"] == database["status"] == "healthy"
    assert int(api["memoryUsage"].removesuffix("MB")) > 0
    # The check's connection went back to the pool, which keeps it open.
    assert database["connections"] >= 1
    assert body["infrastructure"]["containerCount"] is None
    latency = body["infrastructure"]["networkLatency"]
    assert (latency is None) == (harness.settings.redis_url is None)


async def test_detailed_health_takes_an_api_key_with_the_admin_scope(harness: Harness) -> None:
    admin = await harness.user("key-admin@example.com", admin=True, scopes=["admin"])

    response = await harness.client.get(DETAILED, headers=admin.headers)

    assert response.status_code == 200, response.text


async def test_detailed_health_refuses_a_user_who_is_not_an_administrator(
    harness: Harness,
) -> None:
    user = await harness.user("user@example.com")

    response = await harness.client.get(DETAILED, headers=user.token_headers)

    body = error_of(response, 403, "forbidden")
    assert "memoryUsage" not in response.text
    assert "details" not in body


async def test_detailed_health_refuses_an_administrators_key_without_the_admin_scope(
    harness: Harness,
) -> None:
    admin = await harness.user("chat-key@example.com", admin=True, scopes=["chat"])

    response = await harness.client.get(DETAILED, headers=admin.headers)

    error_of(response, 403, "forbidden")


async def test_detailed_health_without_a_token_is_unauthorized(harness: Harness) -> None:
    response = await harness.client.get(DETAILED)

    body = error_of(response, 401, "unauthorized")
    assert body["message"] == "Access token required"
    assert response.headers["www-authenticate"].startswith("Bearer ")


async def test_detailed_health_with_a_bad_token_is_unauthorized(harness: Harness) -> None:
    response = await harness.client.get(
        DETAILED, headers={"Authorization": "Bearer not-a-valid-token"}
    )

    error_of(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_only_get_is_served(harness: Harness) -> None:
    admin = await harness.user("post@example.com", admin=True)

    response = await harness.client.post(DETAILED, headers=admin.token_headers)

    error_of(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"
