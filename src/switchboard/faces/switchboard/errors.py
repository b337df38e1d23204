"""Errors as `{"error": {"code", "message", "param", "request_id"}}`."""

from __future__ import annotations

from fastapi import Request, Response

from switchboard.api.errors import ErrorInfo
from switchboard.api.responses import JSONResponse
from switchboard.core.errors import ErrorKind

STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 400,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.PERMISSION_DENIED: 403,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UPSTREAM_UNAVAILABLE: 502,
    ErrorKind.UPSTREAM_REJECTED: 502,
    ErrorKind.TIMEOUT: 504,
}


def render_error(request: Request, info: ErrorInfo) -> Response:
    """The native face's error renderer (validation errors are 422 with their details)."""
    if info.status is not None:
        status = info.status
    elif info.validation:
        status = 422
    else:
        status = STATUS[info.kind] if info.kind else 500
    body = {
        "error": {
            "code": info.code,
            "message": info.message,
            "param": info.param,
            "request_id": request.scope.get("state", {}).get("request_id"),
        }
    }
    headers = dict(info.headers)
    if info.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(info.retry_after)))
    return JSONResponse(body, status_code=status, headers=headers)
