"""Errors in PocketLLM's envelope: `{success: false, data: null, error: {message}, metadata}`.

Statuses are the shared table's (`api.errors.DEFAULT_STATUS`): 400 validation and bad
input (the message names the field), 401, 403, 404 (also for another user's ids), 409
for duplicates and wrong states, 413 oversized body, 429 with `Retry-After`, 502 when
the provider failed or refused our credential, 504 when it timed out. A provider
refusing the request itself (bad model, bad parameter) is the client's to fix: 400.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from switchboard.api.auth import www_authenticate
from switchboard.api.errors import ErrorInfo, error_headers, status_of
from switchboard.api.responses import JSONResponse
from switchboard.faces.pocketllm.envelope import metadata


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
    status = status_of(info)
    headers = error_headers(info) | www_authenticate(request, status, info.code)
    return JSONResponse(error_body(request, info), status_code=status, headers=headers)
