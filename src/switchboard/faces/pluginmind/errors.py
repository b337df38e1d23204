"""PluginMind's unified error envelope: `{"error": {"message", "code", "correlation_id"}}`.

Statuses follow the shared table (`api.errors`) with PluginMind's overrides; codes and
messages follow the original backend: validation is 422
`INVALID_INPUT` with one fixed message, provider failures are 502 `AI_SERVICE_ERROR`,
a missing or bad session cookie is 401 `HTTP_EXCEPTION`, and so on.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from switchboard.api.auth import www_authenticate
from switchboard.api.errors import ErrorInfo, error_headers, is_client_fault, status_of
from switchboard.api.middleware import request_id_of
from switchboard.api.responses import JSONResponse
from switchboard.core.analysis import errors as analysis
from switchboard.core.errors import ErrorKind

VALIDATION_MESSAGE = "Invalid request payload."
RATE_LIMIT_MESSAGE = "Too many requests. Please try again later."
JOB_NOT_FOUND_MESSAGE = "Requested job was not found."

# What PluginMind clients are told when an analysis's provider call fails (the `error`
# values of its async jobs, and the messages of `/process` and `/analyze`).
ANALYSIS_FAILURES: dict[str, str] = {
    analysis.FAILURE_RATE_LIMITED: "Rate limit exceeded. Please try again later.",
    analysis.FAILURE_AUTH: "API authentication failed",
    analysis.FAILURE_TIMEOUT: "Request timeout. Please try again.",
    analysis.FAILURE_UNAVAILABLE: "AI service is unavailable. Please try again later.",
    analysis.FAILURE_INTERNAL: "Analysis failed due to internal error",
}

# Statuses that differ from the shared table: every provider failure is a 502.
STATUS: dict[ErrorKind, int] = {ErrorKind.TIMEOUT: 502}

CODES: dict[ErrorKind, str] = {
    ErrorKind.INVALID: "INVALID_INPUT",
    ErrorKind.NOT_FOUND: "HTTP_EXCEPTION",
    ErrorKind.CONFLICT: "HTTP_EXCEPTION",
    ErrorKind.UNAUTHENTICATED: "HTTP_EXCEPTION",
    ErrorKind.PERMISSION_DENIED: "HTTP_EXCEPTION",
    ErrorKind.RATE_LIMITED: "RATE_LIMIT_EXCEEDED",
    ErrorKind.UPSTREAM_UNAVAILABLE: "AI_SERVICE_ERROR",
    ErrorKind.UPSTREAM_REJECTED: "AI_SERVICE_ERROR",
    ErrorKind.TIMEOUT: "AI_SERVICE_ERROR",
    ErrorKind.UNAVAILABLE: "SERVICE_UNAVAILABLE",
}

# Core codes with a status and code of their own in PluginMind.
_BY_CODE: dict[str, tuple[int, str]] = {
    "query_limit_exceeded": (429, "QUERY_LIMIT_EXCEEDED"),
    "job_not_found": (404, "JOB_NOT_FOUND"),
    "user_not_found": (404, "USER_NOT_FOUND"),
    # Google's keys could not be fetched: our outage, not the caller's token.
    "jwks_unavailable": (503, "SERVICE_UNAVAILABLE"),
    "provider_not_configured": (503, "SERVICE_UNAVAILABLE"),
    "model_not_found": (503, "SERVICE_UNAVAILABLE"),
    # A valid Google token the account's state refuses (core.accounts.identities): an
    # address Google is not authoritative for, or a link that would be replaced or moved.
    "google_link_required": (409, "ACCOUNT_LINK_REQUIRED"),
    "google_account_conflict": (409, "ACCOUNT_CONFLICT"),
    "google_linked_elsewhere": (409, "ACCOUNT_CONFLICT"),
}


def status_and_code(info: ErrorInfo) -> tuple[int, str, str]:
    """PluginMind's status, code and message for an error."""
    if info.code == "validation_error":
        return 422, "INVALID_INPUT", VALIDATION_MESSAGE
    if info.code in _BY_CODE:
        status, code = _BY_CODE[info.code]
        message = JOB_NOT_FOUND_MESSAGE if code == "JOB_NOT_FOUND" else info.message
        return status, code, message
    status = _status(info)
    return status, _code(info, status), _message(info, status)


def analysis_error(code: str | None, message: str | None) -> str | None:
    """A failed analysis's stored error in PluginMind's words (unknown codes unchanged)."""
    return ANALYSIS_FAILURES.get(code or "", message)


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
    body = envelope(request, code, message)
    headers = error_headers(info) | www_authenticate(request, status, info.code)
    return JSONResponse(body, status_code=status, headers=headers)


def _status(info: ErrorInfo) -> int:
    if is_client_fault(info):
        # Users choose neither the model nor its parameters here: a provider refusing a
        # request is the service's failure, as the original reported it.
        return 502
    return status_of(info, STATUS)


def _code(info: ErrorInfo, status: int) -> str:
    if status == 413:
        return "REQUEST_TOO_LARGE"
    if info.kind is None:
        return {429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL_SERVER_ERROR"}.get(
            status, "HTTP_EXCEPTION"
        )
    if info.kind == ErrorKind.UNAUTHENTICATED and info.code.startswith("google_"):
        return "AUTHENTICATION_FAILED"
    return CODES[info.kind]


def _message(info: ErrorInfo, status: int) -> str:
    if info.code in ANALYSIS_FAILURES:
        return ANALYSIS_FAILURES[info.code]
    if info.code == "rate_limit_exceeded" or (info.kind is None and status == 429):
        return RATE_LIMIT_MESSAGE
    return info.message
