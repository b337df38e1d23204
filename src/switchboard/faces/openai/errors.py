"""Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

Statuses are the shared table's (`api.errors`), with one override: a model or provider
switchboard does not know is a 404 `model_not_found`, as OpenAI answers an unknown model
(other faces keep their own status for the same core errors).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from switchboard.api.auth import www_authenticate
from switchboard.api.errors import ErrorInfo, error_headers, info_from_exception, status_of
from switchboard.api.responses import JSONResponse
from switchboard.core.errors import ErrorKind, SwitchboardError

# OpenAI's error type where it is neither `invalid_request_error` nor `server_error`.
_TYPES = {
    ErrorKind.PERMISSION_DENIED: "permission_error",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
}
# OpenAI's codes where they differ from the core's.
_CODES = {
    ErrorKind.UNAUTHENTICATED: "invalid_api_key",
    ErrorKind.RATE_LIMITED: "rate_limit_exceeded",
}
# Core codes that mean "no such model": the resolver's and the providers'.
UNKNOWN_MODEL_CODES = frozenset({"model_not_found", "unknown_provider"})
MODEL_NOT_FOUND = "model_not_found"


def error_payload(info: ErrorInfo) -> tuple[int, dict[str, Any]]:
    """The status and body for an error."""
    status = status_of(info)
    code = _CODES.get(info.kind, info.code) if info.kind else info.code
    if info.kind is not None and info.code in UNKNOWN_MODEL_CODES:
        status, code = 404, MODEL_NOT_FOUND
    error_type = _TYPES.get(info.kind) if info.kind else None
    if error_type is None:
        error_type = "server_error" if status >= 500 else "invalid_request_error"
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
    headers = error_headers(info) | www_authenticate(request, status, info.code)
    return JSONResponse(body, status_code=status, headers=headers)
