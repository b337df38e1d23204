"""Rules every input of every face obeys, checked once at the boundary.

- No text input carries a NUL character. PostgreSQL cannot store one in a text column
  (the driver fails the whole statement), no document allows one, and a string that
  holds one is never a legitimate name, key or filter. The check covers the query
  string, the path parameters and JSON bodies, so no field can forget it.
- Integers from the query string or the path fit a signed 64-bit column: a larger one
  overflowed SQLite's driver (a 500) and broke asyncpg's connection on PostgreSQL.
  Paging offsets are narrower still: routes declare them as `Offset`.

`face_route_class` adds `guard_inputs` to every face route as its last dependency, so
the caller is authenticated and admitted before its input is judged, and a refusal is
a validation error in the face's own envelope.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from pydantic import StringConstraints

from switchboard.kit.pagination import MAX_OFFSET

NUL = "\x00"
NUL_MESSAGE = "Text must not contain NUL characters"
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# `\u0000` in JSON text is a NUL unless its backslash is itself escaped (`\\u0000`).
_INTEGERS_ATTRIBUTE = "__switchboard_integer_params__"
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

Credential = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]+$")]
"""A secret a client hands over for an upstream (an API key): printable ASCII without
spaces, the only characters an HTTP header carries (a non-ASCII key failed deep in a
vendor SDK, a 500)."""

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
"""A paging offset: never negative, never past what any backend can skip."""


async def guard_inputs(request: Request) -> None:
    """The dependency every face route ends with: its raw inputs against the rules above."""
    refuse_unsafe_params(request, integer_params(request.scope.get("route")))
    if is_json_media_type(request.headers.get("content-type")):
        # FastAPI has read the body already when the route takes one; it keeps the bytes.
        refuse_nul_in_json(await request.body())


def integer_params(route: object) -> frozenset[str]:
    """The names of `route`'s query and path parameters that are integers."""
    known: frozenset[str] | None = getattr(route, _INTEGERS_ATTRIBUTE, None)
    if known is None:
        dependant = getattr(route, "dependant", None)
        known = frozenset(_integer_params(dependant)) if dependant is not None else frozenset()
        if route is not None:
            setattr(route, _INTEGERS_ATTRIBUTE, known)
    return known


def refuse_unsafe_params(request: Request, integers: frozenset[str] = frozenset()) -> None:
    """Refuse NUL in the query string or path, and out-of-range integers there."""
    for name, value in request.query_params.multi_items():
        _check_param("query", name, value, name in integers)
    for name, value in request.path_params.items():
        if isinstance(value, str):
            _check_param("path", name, value, name in integers)


def refuse_nul_in_json(raw: bytes) -> None:
    """Refuse a JSON body that holds a NUL in any string, naming the field when it can."""
    if b"\\u0000" not in raw or not _JSON_NUL.search(raw):
        return  # the common case costs one scan of the bytes
    try:
        where = next(_nul_locations(orjson.loads(raw)), ())
    except orjson.JSONDecodeError:
        return  # not JSON: the body's own validation says so
    raise _refusal(("body", *where), NUL_MESSAGE)


def _check_param(source: str, name: str, value: str, integer: bool) -> None:
    if NUL in name or NUL in value:
        raise _refusal((source, name.replace(NUL, "")), NUL_MESSAGE)
    if integer and _out_of_range(value):
        raise _refusal((source, name), f"Input should be between {INT_MIN} and {INT_MAX}")


def _out_of_range(value: str) -> bool:
    try:
        number = int(value.strip())
    except ValueError:
        return False  # not an integer at all: FastAPI's own validation refuses it
    return not INT_MIN <= number <= INT_MAX


def _nul_locations(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield (*path, key.replace(NUL, ""))
            yield from _nul_locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_locations(item, (*path, index))


def _integer_params(dependant: Dependant) -> Iterator[str]:
    for param in (*dependant.query_params, *dependant.path_params):
        if _mentions_int(param.field_info.annotation):
            yield param.alias
    for sub in dependant.dependencies:  # parameters declared by the route's dependencies
        yield from _integer_params(sub)


def _mentions_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated):
        return any(_mentions_int(arg) for arg in typing.get_args(annotation))
    return False


def is_json_media_type(content_type: str | None) -> bool:
    """FastAPI's rule for a JSON body: application/json or application/*+json."""
    if not content_type:
        return False
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _refusal(location: tuple[Any, ...], message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": location, "msg": message}])
