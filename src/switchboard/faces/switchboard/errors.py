"""Errors as `{"error": {"code", "message", "param", "request_id"}}`."""

from __future__ import annotations

from fastapi import Request, Response

from switchboard.api.auth import www_authenticate
from switchboard.api.errors import ErrorInfo, error_headers, status_of
from switchboard.api.responses import JSONResponse


def render_error(request: Request, info: ErrorInfo) -> Response:
    """The native face's error renderer: the shared statuses, and 422 for payload
    validation (with its details in `param`)."""
    status = 422 if info.validation and info.status is None else status_of(info)
    body = {
        "error": {
            "code": info.code,
            "message": info.message,
            "param": info.param,
            "request_id": request.scope.get("state", {}).get("request_id"),
        }
    }
    headers = error_headers(info) | www_authenticate(request, status, info.code)
    return JSONResponse(body, status_code=status, headers=headers)
