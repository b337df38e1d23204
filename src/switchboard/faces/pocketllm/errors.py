"""Errors in PocketLLM's envelope: `{success: false, data: null, error: {message}, metadata}`.

Statuses: 400 validation and bad input (the message names the field), 401, 403, 404
(also for another user's ids), 409 for duplicates and wrong states, 413 oversized body,
429 with `Retry-After`, 502 when the provider failed or refused our credential, 504
when it timed out. A provider refusing the request itself (bad model, bad parameter) is
the client's to fix: 400.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from switchboard.api.errors import ErrorInfo
from switchboard.api.responses import JSONResponse
from switchboard.core.errors import ErrorKind
from switchboard.faces.pocketllm.envelope import metadata

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

_CLIENT_FAULTS = (400, 404, 413, 422)


def status_of(info: ErrorInfo) -> int:
    """The HTTP status for an error."""
    if info.status is not None:
        return info.status
    if info.kind is None:
        return 500
    if info.kind == ErrorKind.UPSTREAM_REJECTED and info.upstream_status in _CLIENT_FAULTS:
        return 400
    return STATUS[info.kind]


def message_of(info: ErrorInfo) -> str:
    """The message, naming the field at fault when the error has one."""
    message = info.message
    if info.param and info.param not in message:
        message = f"{info.param}: {message}"
    return message


def error_body(request: Request, info: ErrorInfo) -> dict[str, Any]:
    """The error envelope."""
    return {
        "success": False,
        "data": None,
        "error": {"message": message_of(info)},
        "metadata": metadata(request),
    }


def render_error(request: Request, info: ErrorInfo) -> Response:
    """The face's error renderer."""
    headers = dict(info.headers)
    if info.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(info.retry_after)))
    return JSONResponse(error_body(request, info), status_code=status_of(info), headers=headers)
