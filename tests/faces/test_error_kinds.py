"""Every core error kind is mapped by every face: nothing expected becomes a 500."""

from __future__ import annotations

import importlib
import json

import pytest
from starlette.requests import Request

from switchboard.api.errors import ErrorInfo, ErrorRenderer
from switchboard.core.errors import ERROR_CLASSES, ErrorKind

FACES = ["openai", "pluginmind", "pocketllm", "switchboard"]


def renderer(face: str) -> ErrorRenderer:
    module = importlib.import_module(f"switchboard.faces.{face}.errors")
    render: ErrorRenderer = module.render_error
    return render


def fake_request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "state": {}})


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("kind", list(ErrorKind))
def test_kind_is_mapped(face: str, kind: ErrorKind) -> None:
    error = ERROR_CLASSES[kind]("something went wrong", retry_after=3)
    info = ErrorInfo(kind, error.code, error.message, retry_after=error.retry_after)
    response = renderer(face)(fake_request(), info)
    assert 400 <= response.status_code < 500 or response.status_code in (502, 503, 504)
    assert json.loads(bytes(response.body))
    if kind == ErrorKind.RATE_LIMITED:
        assert response.headers["retry-after"] == "3"


def test_every_kind_has_a_class() -> None:
    assert set(ERROR_CLASSES) == set(ErrorKind)
