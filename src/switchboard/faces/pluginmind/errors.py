"""PluginMind's unified error envelope: `{"error": {"message", "code", "correlation_id"}}`.

Statuses and codes follow the original backend (seeds/NOTES.md 1.1): validation is 422
`INVALID_INPUT` with one fixed message, provider failures are 502 `AI_SERVICE_ERROR`,
a missing or bad session cookie is 401 `HTTP_EXCEPTION`, and so on.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from switchboard.api.errors import ErrorInfo
from switchboard.api.middleware import request_id_of
from switchboard.api.responses import JSONResponse
from switchboard.core.errors import ErrorKind

VALIDATION_MESSAGE = "Invalid request payload."
RATE_LIMIT_MESSAGE = "Too many requests. Please try again later."
JOB_NOT_FOUND_MESSAGE = "Requested job was not found."

# kind → (status, code) when the error's own code does not say more.
STATUS: dict[ErrorKind, tuple[int, str]] = {
    ErrorKind.INVALID: (400, "INVALID_INPUT"),
    ErrorKind.NOT_FOUND: (404, "HTTP_EXCEPTION"),
    ErrorKind.CONFLICT: (409, "HTTP_EXCEPTION"),
    ErrorKind.UNAUTHENTICATED: (401, "HTTP_EXCEPTION"),
    ErrorKind.PERMISSION_DENIED: (403, "HTTP_EXCEPTION"),
    ErrorKind.RATE_LIMITED: (429, "RATE_LIMIT_EXCEEDED"),
    ErrorKind.UPSTREAM_UNAVAILABLE: (502, "AI_SERVICE_ERROR"),
    ErrorKind.UPSTREAM_REJECTED: (502, "AI_SERVICE_ERROR"),
    ErrorKind.TIMEOUT: (502, "AI_SERVICE_ERROR"),
}

# Core codes with a code (and status) of their own in PluginMind.
_BY_CODE: dict[str, tuple[int, str]] = {
    "query_limit_exceeded": (429, "QUERY_LIMIT_EXCEEDED"),
    "job_not_found": (404, "JOB_NOT_FOUND"),
    "user_not_found": (404, "USER_NOT_FOUND"),
    # Google's keys could not be fetched: our outage, not the caller's token.
    "jwks_unavailable": (503, "SERVICE_UNAVAILABLE"),
    "provider_not_configured": (503, "SERVICE_UNAVAILABLE"),
    "model_not_found": (503, "SERVICE_UNAVAILABLE"),
}


def status_and_code(info: ErrorInfo) -> tuple[int, str, str]:
    """PluginMind's status, code and message for an error."""
    message = info.message
    if info.status == 413:
        return 413, "REQUEST_TOO_LARGE", message
    if info.kind is None:
        status = info.status or 500
        if status == 429:
            return 429, "RATE_LIMIT_EXCEEDED", RATE_LIMIT_MESSAGE
        if status == 500:
            return 500, "INTERNAL_SERVER_ERROR", message
        return status, "HTTP_EXCEPTION", message
    if info.code == "validation_error":
        return 422, "INVALID_INPUT", VALIDATION_MESSAGE
    if info.code in _BY_CODE:
        status, code = _BY_CODE[info.code]
        if code == "JOB_NOT_FOUND":
            message = JOB_NOT_FOUND_MESSAGE
        return status, code, message
    status, code = STATUS[info.kind]
    if info.kind == ErrorKind.UNAUTHENTICATED and info.code.startswith("google_"):
        code = "AUTHENTICATION_FAILED"
    elif info.code == "rate_limit_exceeded":
        message = RATE_LIMIT_MESSAGE
    return status, code, message


def envelope(request: Request, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The error envelope, with the request's correlation id."""
    error: dict[str, Any] = {
        "message": message,
        "code": code,
        "correlation_id": request_id_of(request.scope),
    }
    error.update(extra)
    return {"error": error}


def render_error(request: Request, info: ErrorInfo) -> Response:
    """The face's error renderer."""
    status, code, message = status_and_code(info)
    headers = dict(info.headers)
    if info.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(info.retry_after)))
    return JSONResponse(envelope(request, code, message), status_code=status, headers=headers)
