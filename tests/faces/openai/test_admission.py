"""Every route of the face declares its admission, and credentials come before bodies."""

from __future__ import annotations

import pytest

from switchboard.api.admission import admission_of
from switchboard.api.faces import api_routes
from switchboard.faces.openai import FACE
from tests.fixtures.app import Harness

SCOPES = {
    ("POST", "/v1/chat/completions"): "chat",
    ("POST", "/v1/embeddings"): "embeddings",
    ("POST", "/v1/images/generations"): "images",
    ("GET", "/v1/images/files/{media_id}"): "images",
    ("GET", "/v1/models/{provider}/{model:path}"): "models",
}
BODY_PATHS = ["/v1/chat/completions", "/v1/embeddings", "/v1/images/generations"]
BAD_BODIES = [
    (b"{not json", "application/json"),
    (b"", "application/json"),
    (b"[]", "application/json"),
    (b'{"model": 5}', "application/json"),
    (b'{"model": "echo/echo", "bypass": true}', "application/json"),
    (b'{"model": "echo/echo"}', "text/plain"),
]


def test_every_route_declares_its_scope_and_the_faces_rate_group() -> None:
    found = {}
    for router in FACE.routers:
        for route in api_routes(router.routes):
            admission = admission_of(route)
            assert admission is not None, route.path
            assert admission.group == "openai" and admission.rule == "default"
            for method in route.methods or ():
                found[(method, route.path)] = admission.scope
    assert found == SCOPES
    assert [fragment.scope for fragment in FACE.shared] == ["models"]


@pytest.mark.parametrize("path", BODY_PATHS)
@pytest.mark.parametrize(("content", "content_type"), BAD_BODIES)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer sb-aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbb"]
)
async def test_no_valid_credentials_is_401_whatever_the_body(
    harness: Harness, path: str, content: bytes, content_type: str, authorization: str | None
) -> None:
    headers = {"content-type": content_type}
    if authorization:
        headers["authorization"] = authorization
    response = await harness.client.post(path, content=content, headers=headers)
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("path", BODY_PATHS)
async def test_an_oversized_body_is_413_before_anything_else(harness: Harness, path: str) -> None:
    # The server stops reading at its limit, before credentials or contents are looked at.
    big = b'{"model": "' + b"x" * (harness.settings.max_body_bytes + 10) + b'"}'
    response = await harness.client.post(
        path, content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("path", BODY_PATHS)
async def test_with_credentials_the_same_bad_body_is_400(harness: Harness, path: str) -> None:
    user = await harness.user("a@example.com")
    response = await harness.client.post(
        path, content=b"{not json", headers={**user.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
