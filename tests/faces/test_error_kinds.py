"""Every face in the registry maps every core error kind, in the error shape its document
gives: nothing expected becomes a 500, and no face ships without its shape listed here."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.requests import Request

from switchboard.api.errors import INTERNAL_ERROR, ErrorInfo, ErrorRenderer
from switchboard.core.errors import ERROR_CLASSES, ErrorKind
from switchboard.registry import FACES

REQUEST_ID = "req-123"


def openai_shape(body: dict[str, Any]) -> None:
    """docs/faces/openai.md: `{"error": {"message", "type", "param", "code"}}`."""
    error = body["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert "code" in error


def pocketllm_shape(body: dict[str, Any]) -> None:
    """docs/faces/pocketllm.md: `{success: false, data: null, error: {message}, metadata}`."""
    assert body["success"] is False
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["metadata"]["requestId"] == REQUEST_ID


def pluginmind_shape(body: dict[str, Any]) -> None:
    """docs/faces/pluginmind.md: `{"error": {"message", "code", "correlation_id"}}`."""
    error = body["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["code"], str) and error["code"].isupper()
    assert error["correlation_id"] == REQUEST_ID


def switchboard_shape(body: dict[str, Any]) -> None:
    """docs/faces/switchboard.md: `{"error": {"code", "message", "param", "request_id"}}`."""
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == REQUEST_ID


def spoonfeeder_shape(body: dict[str, Any]) -> None:
    """docs/faces/spoonfeeder.md: `{success: false, error, code, statusCode}`."""
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["code"], str) and body["code"].isupper()
    assert isinstance(body["statusCode"], int)


def cloudtolocalllm_shape(body: dict[str, Any]) -> None:
    """docs/faces/cloudtolocalllm.md: `{error, message, code, details?, requestId}`."""
    assert set(body) - {"details"} == {"error", "message", "code", "requestId"}
    assert isinstance(body["error"], str) and body["error"].islower()
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["code"], int)
    assert body["requestId"] == REQUEST_ID


# Every face's error shape. A face in the registry but not here fails below: add its shape
# from its document.
ERROR_SHAPES: dict[str, Callable[[dict[str, Any]], None]] = {
    "openai": openai_shape,
    "pocketllm": pocketllm_shape,
    "pluginmind": pluginmind_shape,
    "switchboard": switchboard_shape,
    "spoonfeeder": spoonfeeder_shape,
    "cloudtolocalllm": cloudtolocalllm_shape,
}

# Errors that are not core kinds, and the status each must keep in every face.
OTHER_CAUSES: dict[str, tuple[ErrorInfo, set[int]]] = {
    "validation": (
        ErrorInfo(
            ErrorKind.INVALID,
            "validation_error",
            "email: Field required",
            param="email",
            validation=({"loc": ["body", "email"], "msg": "Field required", "type": "missing"},),
        ),
        {400, 422},
    ),
    "no such route": (ErrorInfo(None, "http_404", "Not Found", status=404), {404}),
    "wrong method": (ErrorInfo(None, "http_405", "Method Not Allowed", status=405), {405}),
    "body too large": (
        ErrorInfo(ErrorKind.INVALID, "request_too_large", "Too large", status=413),
        {413},
    ),
    "a bug": (INTERNAL_ERROR, {500}),
}


def fake_request() -> Request:
    state = {"request_id": REQUEST_ID, "started": time.perf_counter()}
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "state": state})


def face_parts(face: str) -> tuple[ErrorRenderer, Callable[[dict[str, Any]], None]]:
    shape = ERROR_SHAPES.get(face)
    assert shape is not None, f"face {face!r} is registered but its error shape is not listed"
    return FACES[face][0].render_error, shape


def render(face: str, info: ErrorInfo) -> tuple[int, dict[str, Any], Any]:
    renderer, shape = face_parts(face)
    response = renderer(fake_request(), info)
    body = json.loads(bytes(response.body))
    shape(body)
    return response.status_code, body, response.headers


def test_every_registered_face_has_an_error_shape() -> None:
    assert set(FACES) - set(ERROR_SHAPES) == set(), "add the new faces' error shapes"
    assert set(ERROR_SHAPES) - set(FACES) == set(), "remove the shapes of faces that are gone"


@pytest.mark.parametrize("face", list(FACES))
@pytest.mark.parametrize("kind", list(ErrorKind))
def test_kind_is_mapped(face: str, kind: ErrorKind) -> None:
    error = ERROR_CLASSES[kind]("something went wrong", retry_after=3)
    info = ErrorInfo(kind, error.code, error.message, retry_after=error.retry_after)
    status, _, headers = render(face, info)
    assert 400 <= status < 500 or status in (502, 503, 504)
    if kind == ErrorKind.RATE_LIMITED:
        assert status == 429
        assert headers["retry-after"] == "3"
    if kind == ErrorKind.UNAVAILABLE:
        # switchboard's own outage, in every face: 503 and when to come back.
        assert status == 503
        assert headers["retry-after"] == "3"


@pytest.mark.parametrize("face", list(FACES))
@pytest.mark.parametrize("cause", list(OTHER_CAUSES))
def test_other_causes_keep_their_status_and_the_faces_shape(face: str, cause: str) -> None:
    info, statuses = OTHER_CAUSES[cause]
    status, _, _ = render(face, info)
    assert status in statuses


def test_every_kind_has_a_class() -> None:
    assert set(ERROR_CLASSES) == set(ErrorKind)
