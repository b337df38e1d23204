"""Every native route declares its admission; API keys need the scope of what they do."""

from __future__ import annotations

import pytest

from switchboard.api.admission import admission_of
from switchboard.api.faces import api_routes
from switchboard.faces.switchboard import FACE
from tests.fixtures.app import Harness
from tests.fixtures.jobs import MODULE

BASE = "/switchboard/v1"
JOB = {"type": "test.echo", "params": {"value": "x"}}


def test_scopes_declared() -> None:
    scopes = {
        (route.path, method): admission.scope
        for router in FACE.routers
        for route in api_routes(router.routes)
        for method in route.methods or ()
        if (admission := admission_of(route)) is not None
    }
    assert scopes[(f"{BASE}/jobs", "POST")] == "jobs"
    assert scopes[(f"{BASE}/schedules", "GET")] == "jobs"
    assert scopes[(f"{BASE}/conversations/{{conversation_id}}/stop", "POST")] == "chat"
    assert scopes[(f"{BASE}/usage", "GET")] == "usage"
    assert scopes[(f"{BASE}/events", "GET")] == "events"


@pytest.fixture
async def app(harness_factory) -> Harness:  # type: ignore[no-untyped-def]
    return await harness_factory(extra_task_modules=[MODULE])


async def test_a_chat_key_cannot_touch_jobs(app: Harness) -> None:
    user = await app.user("a@example.com", scopes=["chat"])
    for method, path in [("POST", "/jobs"), ("GET", "/jobs"), ("GET", "/schedules")]:
        response = await app.client.request(method, BASE + path, json=JOB, headers=user.headers)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "missing_scope"
    # Its access token is the user's own and has every scope.
    created = await app.client.post(f"{BASE}/jobs", json=JOB, headers=user.token_headers)
    assert created.status_code == 201
    assert (await app.client.get(f"{BASE}/usage", headers=user.headers)).status_code == 403
    assert (await app.client.get(f"{BASE}/usage", headers=user.token_headers)).status_code == 200


async def test_a_jobs_key_cannot_stop_replies(app: Harness) -> None:
    user = await app.user("a@example.com", scopes=["jobs"])
    stop = await app.client.post(f"{BASE}/conversations/whatever/stop", headers=user.headers)
    assert stop.status_code == 403
    assert (
        await app.client.post(f"{BASE}/jobs", json=JOB, headers=user.headers)
    ).status_code == 201
