"""Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from switchboard.api.errors import ErrorInfo, info_from_exception
from switchboard.api.responses import JSONResponse
from switchboard.core.errors import ErrorKind, SwitchboardError

# kind → (HTTP status, OpenAI error type)
STATUS: dict[ErrorKind, tuple[int, str]] = {
    ErrorKind.INVALID: (400, "invalid_request_error"),
    ErrorKind.NOT_FOUND: (404, "invalid_request_error"),
    ErrorKind.CONFLICT: (409, "invalid_request_error"),
    ErrorKind.UNAUTHENTICATED: (401, "invalid_request_error"),
    ErrorKind.PERMISSION_DENIED: (403, "permission_error"),
    ErrorKind.RATE_LIMITED: (429, "rate_limit_error"),
    ErrorKind.UPSTREAM_UNAVAILABLE: (502, "server_error"),
    ErrorKind.UPSTREAM_REJECTED: (502, "server_error"),
    ErrorKind.TIMEOUT: (504, "server_error"),
}

_CODES = {
    ErrorKind.UNAUTHENTICATED: "invalid_api_key",
    ErrorKind.RATE_LIMITED: "rate_limit_exceeded",
}


def status_and_type(info: ErrorInfo) -> tuple[int, str]:
    """OpenAI's status and error type for an error."""
    if info.kind is None:
        status = info.status or 500
        return status, "server_error" if status >= 500 else "invalid_request_error"
    status, error_type = STATUS[info.kind]
    if info.status is not None:
        status = info.status
    elif info.kind == ErrorKind.UPSTREAM_REJECTED and info.upstream_status in (400, 404, 413, 422):
        # The provider refused the request itself: that is the client's to fix.
        status, error_type = 400, "invalid_request_error"
    return status, error_type


def error_payload(info: ErrorInfo) -> tuple[int, dict[str, Any]]:
    """The status and body for an error."""
    status, error_type = status_and_type(info)
    code = _CODES.get(info.kind, info.code) if info.kind else info.code
    body = {
        "error": {"message": info.message, "type": error_type, "param": info.param, "code": code}
    }
    return status, body


def error_body(exc: SwitchboardError) -> tuple[int, dict[str, Any]]:
    """The status and body for a core error (also used for mid-stream error frames)."""
    info = info_from_exception(exc)
    assert info is not None
    return error_payload(info)


def render_error(request: Request, info: ErrorInfo) -> Response:
    """The face's error renderer."""
    status, body = error_payload(info)
    headers = dict(info.headers)
    if info.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(info.retry_after)))
    return JSONResponse(body, status_code=status, headers=headers)
