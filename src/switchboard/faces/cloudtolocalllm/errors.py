"""Errors in CloudToLocalLLM's standard format:
`{error: <error_code>, message, code: <status>, details?, requestId}`.

Statuses are the shared table's (`api.errors.DEFAULT_STATUS`), which agrees with the
document's list (400, 401, 403, 404, 429, 500). `error` is a lower-case code named after
the status (`unauthorized`, as the document's 401 example), `validation_error` for
malformed input, whose `details` map each field at fault to what is wrong with it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from switchboard.api.auth import www_authenticate
from switchboard.api.errors import ErrorInfo, error_headers, status_of
from switchboard.api.middleware import request_id_of
from switchboard.api.responses import JSONResponse

VALIDATION_ERROR = "validation_error"
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
# Where a validation error's location names the part of the request, not a field.
_PARTS = frozenset({"body", "query", "path", "header", "cookie"})


def error_code(info: ErrorInfo, status: int) -> str:
    """The document's `error` value for an error answered with `status`."""
    if info.code == VALIDATION_ERROR:
        return VALIDATION_ERROR
    return CODES.get(status, "bad_request" if status < 500 else "internal_server_error")


def details_of(info: ErrorInfo) -> dict[str, str] | None:
    """`{field: what is wrong}` for the fields at fault, or None when none is named."""
    details: dict[str, str] = {}
    for error in info.validation:
        field = ".".join(str(p) for p in error.get("loc", ()) if p not in _PARTS)
        details.setdefault(field or "request", str(error.get("msg", "Invalid value")))
    if not details and info.param:
        details[info.param] = info.message
    return details or None


def render_error(request: Request, info: ErrorInfo) -> Response:
    """The face's error renderer."""
    status = status_of(info)
    body: dict[str, Any] = {
        "error": error_code(info, status),
        "message": info.message,
        "code": status,
    }
    details = details_of(info)
    if details is not None:
        body["details"] = details
    body["requestId"] = request_id_of(request.scope)
    headers = error_headers(info) | www_authenticate(request, status, info.code)
    return JSONResponse(body, status_code=status, headers=headers)
