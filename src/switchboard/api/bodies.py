"""A lean request handler for the few routes that carry most of the traffic.

FastAPI reads a body by parsing its content type with the `email` package, decoding the
JSON with the standard library, solving the route's dependencies and validating the
resulting dicts. For an endpoint shaped `async def endpoint(body: Model, request:
Request) -> Response`, `lean_handler` does the same work in one pass of pydantic-core
over the raw bytes. The route stays a FastAPI route: its OpenAPI entry comes from the
same signature, and its errors are the same `RequestValidationError`s, rendered by the
face's route class. An endpoint marked `before_parsing(prelude)` runs inside `prelude`,
entered once the body's bytes are in but before they are parsed: a caller without
credentials is refused whatever it sent, and no unit of work the prelude opens waits
on a slow upload.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar, get_type_hints

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from switchboard.api.inputs import is_json_media_type, refuse_nul_in_json

Endpoint = Callable[[Any, Request], Awaitable[Response]]
Handler = Callable[[Request], Awaitable[Response]]
ModelT = TypeVar("ModelT", bound=BaseModel)
EndpointT = TypeVar("EndpointT", bound=Endpoint)
Prelude = Callable[[Request], AbstractAsyncContextManager[object]]
PRELUDE_ATTRIBUTE = "__lean_prelude__"


def before_parsing(prelude: Prelude) -> Callable[[EndpointT], EndpointT]:
    """Marks a lean endpoint to run inside `prelude`, entered before its body is parsed."""

    def mark(endpoint: EndpointT) -> EndpointT:
        setattr(endpoint, PRELUDE_ATTRIBUTE, prelude)
        return endpoint

    return mark


def lean_handler(endpoint: Endpoint) -> Handler:
    """The request handler for `endpoint(body: Model, request: Request)`."""
    model = _body_model(endpoint)
    prelude: Prelude | None = getattr(endpoint, PRELUDE_ATTRIBUTE, None)

    async def handle(request: Request) -> Response:
        return await endpoint(await json_body(request, model), request)

    if prelude is None:
        return handle

    async def handle_within(request: Request) -> Response:
        await raw_body(request)  # kept by the request for `json_body`
        async with prelude(request):
            return await handle(request)

    return handle_within


async def json_body(request: Request, model: type[ModelT]) -> ModelT:
    """The request's JSON body as `model`; refusals are FastAPI's validation errors."""
    raw = await raw_body(request)
    if not raw:
        raise _invalid("missing", "Field required")
    if not is_json_media_type(request.headers.get("content-type")):
        raise _invalid("content_type", "Content-Type must be application/json")
    refuse_nul_in_json(raw)  # the rule `api.inputs.guard_inputs` applies to other routes
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        # Inputs stay out of errors: they may hold secrets or be huge.
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


async def raw_body(request: Request) -> bytes:
    """The request's body bytes (read once; the request keeps them)."""
    try:
        return await request.body()
    except ClientDisconnect:
        # What FastAPI answers too (the client is gone; the log shows a 400, not a bug).
        raise HTTPException(400, "There was an error parsing the body") from None


def _body_model(endpoint: Endpoint) -> type[BaseModel]:
    first = next(iter(inspect.signature(endpoint).parameters))
    model = get_type_hints(endpoint)[first]
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{endpoint.__name__}'s first parameter must be a pydantic model")
    return model


def _invalid(error_type: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": error_type, "loc": ("body",), "msg": message}])
