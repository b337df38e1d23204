"""Errors in Spoon Feeder's shape: `{success: false, error, code, statusCode}`.

Statuses follow the document: 400 for bad input and validation (`BAD_REQUEST`,
`VALIDATION_ERROR`), 404 `NOT_FOUND`, 503 `PROVIDER_CONNECTION_ERROR` when a provider or
ComfyUI cannot be reached or does not answer in time, 500 `INTERNAL_ERROR`. What the
document does not cover keeps the shared table's status (401, 403, 409, 413, 429).
"""

from __future__ import annotations

from fastapi import Request, Response

from switchboard.api.auth import www_authenticate
from switchboard.api.errors import ErrorInfo, error_headers, is_client_fault, status_of
from switchboard.api.responses import JSONResponse
from switchboard.core.errors import ErrorKind

STATUS: dict[ErrorKind, int] = {
    ErrorKind.UPSTREAM_UNAVAILABLE: 503,
    ErrorKind.TIMEOUT: 503,
    ErrorKind.UPSTREAM_REJECTED: 503,
}

CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    503: "PROVIDER_CONNECTION_ERROR",
}


def status_and_code(info: ErrorInfo) -> tuple[int, str]:
    """The status and code a Spoon Feeder client is answered with."""
    if info.code == "validation_error":
        return 400, "VALIDATION_ERROR"
    status = status_of(info, STATUS)
    if info.kind == ErrorKind.UNAVAILABLE:
        return status, "SERVICE_UNAVAILABLE"
    if is_client_fault(info):
        return 400, "BAD_REQUEST"
    return status, CODES.get(status, "INTERNAL_ERROR")


def message_of(info: ErrorInfo) -> str:
    """The message, naming the field at fault when the error has one."""
    if info.param and info.param not in info.message:
        return f"{info.param}: {info.message}"
    return info.message


def render_error(request: Request, info: ErrorInfo) -> Response:
    """The face's error renderer."""
    status, code = status_and_code(info)
    body = {"success": False, "error": message_of(info), "code": code, "statusCode": status}
    headers = error_headers(info) | www_authenticate(request, status, info.code)
    return JSONResponse(body, status_code=status, headers=headers)
