"""A bug is logged whole and answered with a 500 in the face's own envelope, without
details (the last-resort handler borrows the face's renderer)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter

from switchboard.api.admission import Admit
from switchboard.api.errors import face_route_class
from switchboard.core.conversations.completions import CompletionService
from switchboard.core.usage.service import UsageService
from switchboard.registry import FACES
from tests.faces.test_error_kinds import ERROR_SHAPES
from tests.fixtures.app import Harness


class Boom(RuntimeError):
    pass


async def explode(*_: object, **__: object) -> None:
    raise Boom("secret internal detail")


@pytest.fixture
def bare_client(harness: Harness) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=harness.app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_openai_face(
    harness: Harness, bare_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await harness.user("a@example.com")
    monkeypatch.setattr(CompletionService, "complete", explode)
    body = {"model": "echo/echo", "messages": [{"role": "user", "content": "x"}]}
    response = await bare_client.post("/v1/chat/completions", json=body, headers=user.headers)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert "secret" not in response.text


async def test_switchboard_face(
    harness: Harness, bare_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await harness.user("a@example.com")
    monkeypatch.setattr(UsageService, "summary", explode)
    response = await bare_client.get("/switchboard/v1/usage", headers=user.headers)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == response.headers["x-request-id"]
    assert "secret" not in response.text


async def test_pluginmind_face(
    harness: Harness, bare_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.ctx.health, "report", explode)
    response = await bare_client.get("/ready")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "INTERNAL_SERVER_ERROR"
    assert error["correlation_id"] == response.headers["x-request-id"]
    assert "secret" not in response.text


@pytest.mark.parametrize("face", list(FACES))
async def test_every_face_answers_a_bug_in_its_own_shape(
    harness: Harness, bare_client: httpx.AsyncClient, face: str
) -> None:
    assert face in ERROR_SHAPES, f"face {face!r} has no error shape in test_error_kinds"
    router = APIRouter(route_class=face_route_class(FACES[face][0].render_error))

    @router.get(f"/_bug/{face}", dependencies=[Admit(None, rule=None)])
    async def bug() -> None:
        await explode()

    harness.app.include_router(router)
    response = await bare_client.get(f"/_bug/{face}", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-123"
    ERROR_SHAPES[face](response.json())
    assert "secret" not in response.text
