"""Contract: `GET /v1/models` (the face's part of a shared path) and `GET /v1/models/{id}`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from starlette.requests import Request

from switchboard.api.errors import ErrorInfo
from switchboard.api.responses import JSONResponse
from switchboard.api.shared_paths import merged_renderer
from switchboard.core.errors import ErrorKind
from switchboard.faces.openai.errors import render_error
from tests.fixtures.app import Harness

OPENAI_ERROR_FIELDS = {"message", "type", "param", "code"}


@pytest.fixture
async def openai_only(harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    """The face alone, so that `GET /v1/models` is served from its fragment only."""
    return await harness_factory(faces=["openai"], model_aliases={"fast": "echo/echo"})


class TestList:
    async def test_lists_catalog_models_and_aliases(self, openai_only: Harness) -> None:
        user = await openai_only.user("a@example.com")
        response = await openai_only.client.get("/v1/models", headers=user.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["object"] == "list"
        by_id = {m["id"]: m for m in body["data"]}
        assert by_id["echo/echo"] == {
            "id": "echo/echo", "object": "model", "created": 0, "owned_by": "echo",
        }  # fmt: skip
        assert by_id["fast"]["owned_by"] == "switchboard"

    async def test_a_key_without_the_models_scope_is_403(self, openai_only: Harness) -> None:
        user = await openai_only.user("a@example.com", scopes=["chat"])
        response = await openai_only.client.get("/v1/models", headers=user.headers)
        assert response.status_code == 403
        assert response.json()["error"]["type"] == "permission_error"

    async def test_no_key_is_401_in_openai_shape(self, openai_only: Harness) -> None:
        response = await openai_only.client.get("/v1/models")
        assert response.status_code == 401
        error = response.json()["error"]
        assert set(error) == OPENAI_ERROR_FIELDS
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "invalid_api_key"
        assert error["message"]

    async def test_no_key_with_every_face_still_satisfies_an_openai_client(
        self, harness: Harness
    ) -> None:
        # The path is shared: its error body carries every face's fields; OpenAI's are
        # intact (an OpenAI SDK reads error.message, error.type and error.code).
        response = await harness.client.get("/v1/models")
        assert response.status_code == 401
        error = response.json()["error"]
        assert set(error) >= OPENAI_ERROR_FIELDS
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "invalid_api_key"
        assert isinstance(error["message"], str) and error["message"]


def test_merged_error_bodies_keep_openai_fields_over_a_later_face() -> None:
    def other_face(request: Request, info: ErrorInfo) -> JSONResponse:
        body = {"success": False, "error": {"message": "other", "code": "OTHER"}, "data": None}
        return JSONResponse(body, status_code=401)

    render = merged_renderer([render_error, other_face])
    request = Request({"type": "http", "method": "GET", "path": "/v1/models", "headers": []})
    info = ErrorInfo(ErrorKind.UNAUTHENTICATED, "missing_credentials", "Missing bearer token")
    response = render(request, info)
    body = json.loads(bytes(response.body))
    assert response.status_code == 401
    assert body["success"] is False
    assert body["error"] == {
        "message": "Missing bearer token",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


class TestRetrieve:
    async def test_one_model_by_id(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.get("/v1/models/echo/echo", headers=user.headers)
        assert response.status_code == 200
        assert response.json() == {
            "id": "echo/echo", "object": "model", "created": 0, "owned_by": "echo",
        }  # fmt: skip

    async def test_unknown_provider_is_404_model_not_found(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.get("/v1/models/nope/some-model", headers=user.headers)
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "model_not_found"
        assert error["type"] == "invalid_request_error"

    async def test_no_key_is_401(self, harness: Harness) -> None:
        response = await harness.client.get("/v1/models/echo/echo")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
