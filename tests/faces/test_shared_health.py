"""`GET /api/health` answers Spoon Feeder's and CloudToLocalLLM's clients at once.

Both documents publish the path with different bodies. Spoon Feeder's
(spoonfeeder-api.txt, "Health"):
`{success: true, data: {status, timestamp, services: {database, redis, ollama, comfyui}}}`;
CloudToLocalLLM's ("Health and Monitoring"):
`{status, timestamp, services: {api, database, auth, streaming}, metrics: {uptime,
activeConnections, requestsPerMinute}}`. Their top-level keys do not meet, so one answer
carries both; with one face mounted, only its keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from switchboard.registry import FACES
from tests.faces.cloudtolocalllm import golden
from tests.fixtures.app import Harness

HarnessFactory = Callable[..., Awaitable[Harness]]

# Spoon Feeder's document, as published.
SPOONFEEDER: dict[str, Any] = {
    "success": True,
    "data": {
        "status": "healthy",
        "timestamp": "2024-12-14T10:30:00.000Z",
        "services": {
            "database": "connected",
            "redis": "connected",
            "ollama": "connected",
            "comfyui": "connected",
        },
    },
}
# Its example shows the healthy states; a service the operator did not set up says so.
SPOONFEEDER_STATES = {"connected", "disconnected", "not_configured"}
SPOONFEEDER_STATUSES = {"healthy", "degraded", "unhealthy"}


def spoonfeeder_part(body: dict[str, Any]) -> None:
    """Spoon Feeder's keys of `body`, checked against its document."""
    assert body["success"] is True
    data = body["data"]
    assert set(data) == set(SPOONFEEDER["data"])
    assert data["status"] in SPOONFEEDER_STATUSES
    assert data["timestamp"].endswith("Z")
    datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))
    assert set(data["services"]) == set(SPOONFEEDER["data"]["services"])
    assert set(data["services"].values()) <= SPOONFEEDER_STATES
    assert data["services"]["database"] == "connected"


def cloudtolocalllm_part(body: dict[str, Any]) -> None:
    """CloudToLocalLLM's keys of `body`, checked against its document."""
    golden.check(golden.HEALTH, golden.health_part(body))
    assert body["services"]["database"] == "healthy"


async def test_one_answer_satisfies_both_documents(harness: Harness) -> None:
    response = await harness.client.get("/api/health")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(SPOONFEEDER) | set(golden.HEALTH)
    spoonfeeder_part(body)
    cloudtolocalllm_part(body)
    # Both read the same live report.
    assert body["status"] == body["data"]["status"] == "healthy"


async def test_the_dependencies_are_checked_once_per_answer(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    health = harness.ctx.health
    reports = 0
    report = health.report

    async def counted() -> Any:
        nonlocal reports
        reports += 1
        return await report()

    monkeypatch.setattr(health, "report", counted)

    response = await harness.client.get("/api/health")

    assert response.status_code == 200 and set(response.json()) >= {"data", "metrics"}
    assert reports == 1


@pytest.mark.parametrize(
    ("face", "keys", "check"),
    [
        ("spoonfeeder", set(SPOONFEEDER), spoonfeeder_part),
        ("cloudtolocalllm", set(golden.HEALTH), cloudtolocalllm_part),
    ],
)
async def test_one_face_mounted_answers_with_its_keys_only(
    harness_factory: HarnessFactory,
    face: str,
    keys: set[str],
    check: Callable[[dict[str, Any]], None],
) -> None:
    harness = await harness_factory(faces=[face])

    response = await harness.client.get("/api/health")

    assert response.status_code == 200
    assert set(response.json()) == keys
    check(response.json())


def test_the_two_faces_set_different_keys() -> None:
    # Otherwise the app would refuse to start with both (`SharedFragment.owns`).
    def keys(face: str) -> set[str]:
        return {
            key
            for fragment in FACES[face][0].shared
            if fragment.path == "/api/health"
            for key in fragment.keys
        }

    assert keys("spoonfeeder") == set(SPOONFEEDER)
    assert keys("cloudtolocalllm") == set(golden.HEALTH)
    assert not keys("spoonfeeder") & keys("cloudtolocalllm")
