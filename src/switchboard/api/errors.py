"""Errors on the way out: every face renders the same facts in its own envelope.

Faces share one FastAPI app (some even share paths), so error rendering cannot be an
app-wide exception handler. Each face's router uses `face_route_class(renderer)`, whose
handler wrapper turns core errors, validation errors, HTTP errors and oversized bodies
into an `ErrorInfo` and lets the face's renderer shape the response.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from switchboard.api.bodies import lean_handler
from switchboard.api.inputs import guard_inputs
from switchboard.core.errors import ErrorKind, SwitchboardError
from switchboard.kit.db import abandon_current_unit_of_work, is_database_outage

log = structlog.get_logger(__name__)


class BodyTooLarge(SwitchboardError):
    """The request body is over the configured limit."""

    kind = ErrorKind.INVALID
    default_code = "request_too_large"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What went wrong, independent of any face's envelope."""

    kind: ErrorKind | None  # None: a plain HTTP error (404 route, 405 method, ...)
    code: str
    message: str
    status: int | None = None  # set when the cause already fixes the status
    param: str | None = None
    retry_after: float | None = None
    upstream_status: int | None = None
    validation: Sequence[dict[str, Any]] = field(default_factory=tuple)
    headers: dict[str, str] = field(default_factory=dict)


class ErrorRenderer(Protocol):
    """A face's way of showing an error."""

    def __call__(self, request: Request, info: ErrorInfo) -> Response: ...


# The status of each kind unless a face's document says otherwise.
DEFAULT_STATUS: Mapping[ErrorKind, int] = {
    ErrorKind.INVALID: 400,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.PERMISSION_DENIED: 403,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UPSTREAM_UNAVAILABLE: 502,
    ErrorKind.UPSTREAM_REJECTED: 502,
    ErrorKind.TIMEOUT: 504,
    ErrorKind.UNAVAILABLE: 503,
}
# A provider refusing the request itself (bad model, bad parameter) is the client's to fix.
CLIENT_FAULT_UPSTREAM_STATUSES = frozenset({400, 404, 413, 422})

RENDERER_STATE_KEY = "render_error"
INTERNAL_ERROR = ErrorInfo(None, "internal_error", "Internal server error", status=500)
# Our own dependencies being away (the database, the event bus) is neither the client's
# fault nor a bug: 503, and when to try again.
OUTAGE_RETRY_AFTER_SECONDS = 5.0
DATABASE_UNAVAILABLE = ErrorInfo(
    ErrorKind.UNAVAILABLE,
    "database_unavailable",
    "The service is temporarily unavailable, try again shortly",
    retry_after=OUTAGE_RETRY_AFTER_SECONDS,
)


def status_of(info: ErrorInfo, table: Mapping[ErrorKind, int] = DEFAULT_STATUS) -> int:
    """The HTTP status of an error: fixed by its cause, else by its kind in `table`."""
    if info.status is not None:
        return info.status
    if info.kind is None:
        return 500
    if is_client_fault(info):
        return 400
    return table.get(info.kind, DEFAULT_STATUS[info.kind])


def is_client_fault(info: ErrorInfo) -> bool:
    """True when a provider refused the request itself, which the client must fix."""
    return (
        info.kind == ErrorKind.UPSTREAM_REJECTED
        and info.upstream_status in CLIENT_FAULT_UPSTREAM_STATUSES
    )


def error_headers(info: ErrorInfo) -> dict[str, str]:
    """The headers every error response carries: its own, and `Retry-After` when known."""
    headers = dict(info.headers)
    if info.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(info.retry_after)))
    return headers


def face_renderer(request: Request) -> ErrorRenderer | None:
    """The error renderer of the face whose route is handling `request`, if any."""
    render: ErrorRenderer | None = request.scope.get("state", {}).get(RENDERER_STATE_KEY)
    return render


def info_from_exception(exc: Exception) -> ErrorInfo | None:
    """The facts of an expected exception, or None for a bug."""
    if isinstance(exc, BodyTooLarge):
        return ErrorInfo(exc.kind, exc.code, exc.message, status=413)
    if isinstance(exc, SwitchboardError):
        return ErrorInfo(
            exc.kind,
            exc.code,
            exc.message,
            param=exc.param,
            retry_after=exc.retry_after,
            upstream_status=exc.upstream_status,
        )
    if isinstance(exc, RequestValidationError):
        errors = [_safe_validation_error(e) for e in exc.errors()]
        first = errors[0] if errors else {}
        return ErrorInfo(
            ErrorKind.INVALID,
            "validation_error",
            _validation_message(first),
            param=_field_name(first),
            validation=errors,
        )
    if isinstance(exc, HTTPException):
        return ErrorInfo(
            None,
            f"http_{exc.status_code}",
            str(exc.detail),
            status=exc.status_code,
            headers=dict(exc.headers or {}),
        )
    return None


def unexpected_error_info(exc: BaseException) -> ErrorInfo:
    """What the app's last-resort handler answers: an outage that escaped a route (a
    commit failing after the answer was rendered) is a 503 too; anything else is a bug."""
    return DATABASE_UNAVAILABLE if is_database_outage(exc) else INTERNAL_ERROR


def face_route_class(render: ErrorRenderer, *, lean: bool = False) -> type[APIRoute]:
    """An APIRoute whose errors are rendered by `render`.

    A `lean` route's endpoint is shaped `(body: Model, request: Request)` and is served
    by `api.bodies.lean_handler` rather than FastAPI's request handler (which checks
    its body against the same input rules). Every other route ends its dependencies
    with `api.inputs.guard_inputs`. A database outage is answered 503 with
    `Retry-After`, like every other error, in the face's envelope.
    """

    class FaceRoute(APIRoute):
        # Read by what answers for the route outside its handler (405s, the OpenAPI document).
        render_error = staticmethod(render)

        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            dependencies = list(kwargs.pop("dependencies", None) or ())
            if not lean and not any(d.dependency is guard_inputs for d in dependencies):
                dependencies.append(Depends(guard_inputs))
            super().__init__(path, endpoint, dependencies=dependencies, **kwargs)

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = lean_handler(self.endpoint) if lean else super().get_route_handler()

            async def guarded(request: Request) -> Response:
                # A bug escaping this route is answered by the app's last-resort handler,
                # which renders it in this face's shape too.
                request.scope.setdefault("state", {})[RENDERER_STATE_KEY] = render
                try:
                    return await handler(request)
                except (SwitchboardError, RequestValidationError, HTTPException) as exc:
                    cause: Exception = exc
                    if request.scope.get("state", {}).get("body_too_large"):
                        cause = BodyTooLarge("Request body is too large")
                    info = info_from_exception(cause)
                    assert info is not None
                    return render(request, info)
                except SQLAlchemyError as exc:
                    if not is_database_outage(exc):
                        raise  # a bug: the app's last-resort handler logs it whole
                    log.warning("database_unavailable", error=type(exc).__name__)
                    # The request's unit of work ends after this answer: it must not
                    # try to commit on the connection that just failed.
                    with contextlib.suppress(SQLAlchemyError):
                        await abandon_current_unit_of_work()
                    return render(request, DATABASE_UNAVAILABLE)

            return guarded

    return FaceRoute


def renderer_of(route: object) -> ErrorRenderer | None:
    """The error renderer of a route made by `face_route_class`, else None."""
    render: ErrorRenderer | None = getattr(type(route), "render_error", None)
    return render


def _safe_validation_error(error: Any) -> dict[str, Any]:
    # Pydantic puts the offending input (possibly a secret, possibly huge) into each
    # error; clients get the location and message only.
    return {
        "loc": [str(part) for part in error.get("loc", ())],
        "msg": str(error.get("msg", "Invalid value")),
        "type": str(error.get("type", "value_error")),
    }


def _field_name(error: dict[str, Any]) -> str | None:
    location = [p for p in error.get("loc", []) if p not in ("body", "query", "path", "header")]
    return ".".join(location) or None


def _validation_message(error: dict[str, Any]) -> str:
    if not error:
        return "Invalid request"
    name = _field_name(error)
    if error.get("type") == "json_invalid":
        return "Request body is not valid JSON"
    return f"{name}: {error['msg']}" if name else str(error["msg"])
