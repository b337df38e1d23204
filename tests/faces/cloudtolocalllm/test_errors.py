"""The document's standard error format, for what the health routes cannot provoke yet
(input validation): every field at fault is named in `details`."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from switchboard.api.errors import INTERNAL_ERROR, ErrorInfo
from switchboard.core.errors import ErrorKind
from switchboard.faces.cloudtolocalllm.errors import render_error
from tests.faces.cloudtolocalllm import golden


def render(info: ErrorInfo) -> tuple[int, dict[str, Any]]:
    state = {"request_id": "req-1"}
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "state": state})
    response = render_error(request, info)
    body = json.loads(bytes(response.body))
    assert set(body) <= set(golden.ERROR)
    assert body["requestId"] == "req-1"
    assert body["code"] == response.status_code
    return response.status_code, body


def test_validation_names_each_field() -> None:
    info = ErrorInfo(
        ErrorKind.INVALID,
        "validation_error",
        "content: Field required",
        param="content",
        validation=(
            {"loc": ["body", "content"], "msg": "Field required", "type": "missing"},
            {"loc": ["query", "limit"], "msg": "too big", "type": "less_than_equal"},
        ),
    )

    status, body = render(info)

    assert status == 400
    assert body["error"] == "validation_error"
    assert body["details"] == {"content": "Field required", "limit": "too big"}


def test_a_bad_value_names_its_field() -> None:
    status, body = render(ErrorInfo(ErrorKind.INVALID, "invalid", "Too long", param="name"))

    assert (status, body["error"], body["details"]) == (400, "bad_request", {"name": "Too long"})


def test_statuses_and_codes_follow_the_documents_list() -> None:
    cases = {
        ErrorKind.UNAUTHENTICATED: (401, "unauthorized"),
        ErrorKind.PERMISSION_DENIED: (403, "forbidden"),
        ErrorKind.NOT_FOUND: (404, "not_found"),
        ErrorKind.RATE_LIMITED: (429, "too_many_requests"),
    }
    for kind, expected in cases.items():
        status, body = render(ErrorInfo(kind, "x", "message"))
        assert (status, body["error"]) == expected
        assert "details" not in body


def test_a_bug_is_an_internal_error() -> None:
    status, body = render(INTERNAL_ERROR)

    assert (status, body["error"], body["message"]) == (
        500,
        "internal_server_error",
        "Internal server error",
    )
