"""The OpenAPI document, completed with what the server enforces and answers.

FastAPI's document lists a 200 and a generic 422 for each route. This one also states,
for every face route, from what the route declares rather than by hand:

- how to authenticate: the security schemes of the route's authentication chain
  (bearer tokens on every face, PluginMind's `pm_session` cookie, the event stream's
  `?token=`), so Swagger UI's "Authorize" works and protected routes show a lock;
- the errors it can answer, in its face's own envelope and with that face's statuses:
  401/403 where it authenticates, 429 where it is rate limited, the face's validation
  status (400 or 422) for malformed input, 404 where a path names a resource, 413 where
  it takes a body, 503 when the database is away, and whatever the route declares with
  `openapi_extra=raises(...)` (a conflict, a provider failing). The statuses and bodies
  come from rendering a sample of each error with the route's own renderer, so they
  cannot drift from what the face really sends;
- the input rules every route enforces (`api.inputs`): no text anywhere holds a NUL,
  path segments are non-empty and hold no `/`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from switchboard.api.admission import Admission, admission_of
from switchboard.api.auth import AuthChain, Bearer, Cookie, QueryToken, SharedSecret
from switchboard.api.errors import (
    DATABASE_UNAVAILABLE,
    ErrorInfo,
    ErrorRenderer,
    renderer_of,
)
from switchboard.api.faces import EnabledFace, api_routes
from switchboard.core.container import AppContext
from switchboard.core.errors import ErrorKind

RAISES_KEY = "x-switchboard-raises"
AMEND_ATTRIBUTE = "__openapi_amendments__"
UPSTREAM = "upstream"
"""A provider failing, refusing the request or timing out (`raises(UPSTREAM)`)."""

NUL_FREE = r"^[^\x00]*$"
# A path segment: not empty, no `/` (it would be another path), no NUL.
PATH_SEGMENT = r"^[^/\x00]+$"
JSON_VALUE = "JsonValue"
_REF = "#/components/schemas/"
_ANY_JSON: dict[str, Any] = {"$ref": _REF + JSON_VALUE}

# The error of each kind a route may answer, as a face renders it.
_SAMPLES: dict[str, tuple[ErrorInfo, ...]] = {
    ErrorKind.UNAUTHENTICATED: (
        ErrorInfo(ErrorKind.UNAUTHENTICATED, "missing_credentials", "Missing bearer token"),
    ),
    ErrorKind.PERMISSION_DENIED: (
        ErrorInfo(ErrorKind.PERMISSION_DENIED, "missing_scope", "This API key lacks a scope"),
    ),
    ErrorKind.RATE_LIMITED: (
        ErrorInfo(
            ErrorKind.RATE_LIMITED, "rate_limit_exceeded", "Rate limit exceeded", retry_after=1
        ),
    ),
    ErrorKind.INVALID: (
        ErrorInfo(ErrorKind.INVALID, "invalid", "Invalid value", param="field"),
        ErrorInfo(ErrorKind.INVALID, "invalid", "Invalid request"),
    ),
    ErrorKind.NOT_FOUND: (ErrorInfo(ErrorKind.NOT_FOUND, "not_found", "Not found"),),
    ErrorKind.CONFLICT: (ErrorInfo(ErrorKind.CONFLICT, "conflict", "Conflict"),),
    ErrorKind.UNAVAILABLE: (DATABASE_UNAVAILABLE,),
    UPSTREAM: (
        ErrorInfo(ErrorKind.UPSTREAM_UNAVAILABLE, "upstream_unavailable", "Provider failed"),
        ErrorInfo(ErrorKind.UPSTREAM_REJECTED, "upstream_rejected", "Refused", upstream_status=400),
        ErrorInfo(ErrorKind.UPSTREAM_REJECTED, "upstream_rejected", "Refused", upstream_status=401),
        ErrorInfo(ErrorKind.TIMEOUT, "upstream_timeout", "Provider timed out"),
    ),
}
_VALIDATION = ErrorInfo(
    ErrorKind.INVALID,
    "validation_error",
    "field: Field required",
    param="field",
    validation=({"loc": ["body", "field"], "msg": "Field required", "type": "missing"},),
)
_TOO_LARGE = ErrorInfo(ErrorKind.INVALID, "request_too_large", "Body too large", status=413)
# A body that cannot be read as text at all (FastAPI's own refusal).
_UNREADABLE = ErrorInfo(None, "http_400", "There was an error parsing the body", status=400)
# Headers worth knowing about on an error, when the face sends them.
_ERROR_HEADERS = {
    "www-authenticate": "How to authenticate (RFC 6750).",
    "retry-after": "Seconds to wait before trying again.",
}


EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])
# Marks an answer whose content types are the only ones (not JSON besides).
EXCLUSIVE = "x-exclusive"
# Extra answers of routes, as FastAPI's `responses=`: a reply streamed as server-sent
# events (when the body asks for `stream`), a live event stream, a stored image.
STREAMS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The reply, streamed as server-sent events",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events",
        EXCLUSIVE: True,
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
IMAGE_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The image, with its stored raster type",
        EXCLUSIVE: True,
        "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}
Amendment = Callable[[dict[str, Any], AppContext], None]
"""Completes the document with what only the running app knows (the public job types)."""


def amends(*amendments: Amendment) -> Callable[[EndpointT], EndpointT]:
    """Marks an endpoint whose operation the `amendments` complete (changes to shared
    components apply to every route using them, so amendments must be idempotent)."""

    def mark(endpoint: EndpointT) -> EndpointT:
        setattr(endpoint, AMEND_ATTRIBUTE, amendments)
        return endpoint

    return mark


def raises(*kinds: ErrorKind | str) -> dict[str, Any]:
    """A route's `openapi_extra`: the error kinds it answers besides the ones its shape
    implies (authentication, rate, validation, a path naming a resource, outages)."""
    return {RAISES_KEY: [str(kind) for kind in kinds]}


def install_openapi(app: FastAPI, faces: Sequence[EnabledFace]) -> None:
    """Serve the completed document at `app.openapi_url` (built once, when first asked)."""
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not built:
            built.update(describe(copy.deepcopy(FastAPI.openapi(app)), app, faces))
            app.openapi_schema = built
        return built

    app.openapi = openapi  # type: ignore[method-assign]


def describe(schema: dict[str, Any], app: FastAPI, faces: Sequence[EnabledFace]) -> dict[str, Any]:
    """`schema` (FastAPI's document of `app`) completed as this module's docstring says."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, component in schemas.items():
        schemas[name] = nul_free(component)
    schemas[JSON_VALUE] = _json_value()
    writer = _Writer(app, faces, schema)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            route = writer.routes.get((path, method.upper()))
            _constrain_parameters(operation, route)
            if route is not None:
                writer.complete(operation, route)
    writer.finish()
    return schema


class _Writer:
    """Completes operations; collects the security schemes and error bodies they use."""

    def __init__(self, app: FastAPI, faces: Sequence[EnabledFace], document: dict[str, Any]):
        self.routes = {
            (route.path_format, method): route
            for route in api_routes(app.router.routes)
            for method in route.methods or ()
        }
        self.face_of = _faces_by_route(faces)
        self.document = document
        self.components: dict[str, Any] = document["components"]
        self.ctx: AppContext = app.state.ctx
        self.schemes: dict[str, dict[str, Any]] = {}
        # Renderer -> (component name, bodies it rendered).
        self.envelopes: dict[int, tuple[str, list[Any]]] = {}

    def complete(self, operation: dict[str, Any], route: APIRoute) -> None:
        """Security and error responses of one face route."""
        for response in operation.get("responses", {}).values():
            if response.pop(EXCLUSIVE, False):
                response.get("content", {}).pop("application/json", None)
        render = renderer_of(route)
        if render is None:
            return
        face = self.face_of.get(id(route))
        admission = admission_of(route)
        if admission is not None and not admission.public:
            chains = list(_chains(route)) or ([face.spec.auth] if face else [])
            self._secure(operation, chains, _optional(route))
        for amendment in getattr(route.endpoint, AMEND_ATTRIBUTE, ()):
            amendment(self.document, self.ctx)
        owner = face.spec.name if face else "shared" + route.path_format.replace("/", "_")
        self._errors(operation, render, _error_samples(operation, admission), owner)

    def finish(self) -> None:
        """Add the collected schemes and error envelopes to the components."""
        if self.schemes:
            self.components["securitySchemes"] = self.schemes
        for name, bodies in self.envelopes.values():
            self.components["schemas"][name] = infer_schema(bodies)

    def _secure(self, operation: dict[str, Any], chains: list[AuthChain], optional: bool) -> None:
        names: list[str] = []
        for chain in chains:
            for scheme in chain.schemes:
                declared = security_scheme(scheme)
                if declared is not None and declared[0] not in names:
                    names.append(declared[0])
                    self.schemes[declared[0]] = declared[1]
        requirements: list[dict[str, list[str]]] = [{name: []} for name in names]
        if requirements:
            operation["security"] = requirements + ([{}] if optional else [])

    def _errors(
        self, operation: dict[str, Any], render: ErrorRenderer, samples: list[ErrorInfo], owner: str
    ) -> None:
        # `owner` names the envelope: a face, or a path several faces answer (whose
        # renderer merges theirs).
        fresh: tuple[str, list[Any]] = ("Error_" + owner, [])
        name, bodies = self.envelopes.setdefault(id(render), fresh)
        responses = operation.setdefault("responses", {})
        # FastAPI's generic 422 goes: each face says which status its validation has.
        responses.pop("422", None)
        for status, body, headers in _rendered(render, samples):
            bodies.append(body)
            entry = responses.setdefault(str(status), {"description": _phrase(status)})
            entry["content"] = {"application/json": {"schema": {"$ref": _REF + name}}}
            for header in headers:
                entry.setdefault("headers", {})[header] = {
                    "description": _ERROR_HEADERS[header],
                    "schema": {"type": "string"},
                }


def _error_samples(operation: dict[str, Any], admission: Admission | None) -> list[ErrorInfo]:
    """A sample of each error the operation can answer, from what its route declares."""
    kinds: list[str] = [ErrorKind.UNAVAILABLE, *operation.pop(RAISES_KEY, [])]
    if admission is not None and not admission.public:
        kinds += [ErrorKind.UNAUTHENTICATED, ErrorKind.PERMISSION_DENIED]
    if admission is not None and admission.rule is not None:
        kinds.append(ErrorKind.RATE_LIMITED)
    where = {p.get("in") for p in operation.get("parameters", ())}
    if "path" in where:
        kinds.append(ErrorKind.NOT_FOUND)
    if "requestBody" in operation or "query" in where:
        kinds.append(ErrorKind.INVALID)  # beyond its shape, an input can break a domain rule
    samples = [_VALIDATION, *(info for kind in dict.fromkeys(kinds) for info in _SAMPLES[kind])]
    if "requestBody" in operation:
        samples += [_TOO_LARGE, _UNREADABLE]
    return samples


def security_scheme(scheme: object) -> tuple[str, dict[str, Any]] | None:
    """The OpenAPI security scheme of one of `api.auth`'s schemes (None: not declarable,
    like local trust, which needs no credential at all)."""
    if isinstance(scheme, Bearer | SharedSecret):
        return "bearer", {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key or an access token: `Authorization: Bearer <token>`.",
        }
    if isinstance(scheme, Cookie):
        return scheme.name, {
            "type": "apiKey",
            "in": "cookie",
            "name": scheme.name,
            "description": "The session cookie set by signing in.",
        }
    if isinstance(scheme, QueryToken):
        return scheme.name, {
            "type": "apiKey",
            "in": "query",
            "name": scheme.name,
            "description": "A bearer credential in the query, on event streams only.",
        }
    return None


def nul_free(schema: Any) -> Any:
    """`schema` with the rule that no text holds a NUL: on strings, on object keys, and
    on values of any type (`{}`), which become `JsonValue`."""
    if isinstance(schema, list):
        return [nul_free(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if _is_any(schema):
        return {**schema, **_ANY_JSON}
    out = {key: _nul_free_member(key, value) for key, value in schema.items()}
    if _types(out) & {"string"} and not out.keys() & {"pattern", "format", "enum", "const"}:
        out["pattern"] = NUL_FREE
    if "object" in _types(out) or "properties" in out:
        extra = out.get("additionalProperties")
        if extra is True or extra == {}:
            out["additionalProperties"] = dict(_ANY_JSON)
        if extra is not False:
            out.setdefault("propertyNames", {"pattern": NUL_FREE})
    return out


def _nul_free_member(key: str, value: Any) -> Any:
    if key == "properties" and isinstance(value, dict):
        return {name: nul_free(item) for name, item in value.items()}
    if key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems", "not"):
        return nul_free(value)
    if key == "$defs" and isinstance(value, dict):
        return {name: nul_free(item) for name, item in value.items()}
    return value


def infer_schema(samples: Sequence[Any]) -> dict[str, Any]:
    """A JSON schema every one of `samples` fits, as tight as they show (an error
    envelope's shape, taken from bodies the face rendered)."""
    present = [s for s in samples if s is not None]
    nullable = len(present) < len(samples)
    if not present:
        return {}
    if all(isinstance(s, dict) for s in present):
        keys = list(dict.fromkeys(k for s in present for k in s))
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {k: infer_schema([s[k] for s in present if k in s]) for k in keys},
            "required": [k for k in keys if all(k in s for s in present)],
        }
    elif all(isinstance(s, bool) for s in present):
        schema = {"type": "boolean"}
    elif all(isinstance(s, int | float) and not isinstance(s, bool) for s in present):
        schema = {"type": "number"}
    elif all(isinstance(s, str) for s in present):
        schema = {"type": "string"}
    elif all(isinstance(s, list) for s in present):
        schema = {"type": "array"}
    else:
        return {}
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def _constrain_parameters(operation: dict[str, Any], route: APIRoute | None) -> None:
    """Parameters under the input rules; a path segment is never empty nor holds a `/`
    (a `{name:path}` parameter may hold slashes)."""
    convertors = route.param_convertors if route is not None else {}
    whole = {name for name, convertor in convertors.items() if _is_path(convertor)}
    for parameter in operation.get("parameters", ()):
        schema = nul_free(parameter.get("schema", {}))
        if parameter.get("in") == "path":
            schema.setdefault("minLength", 1)
            if parameter["name"] not in whole and schema.get("pattern") == NUL_FREE:
                schema["pattern"] = PATH_SEGMENT
        parameter["schema"] = schema
    body = operation.get("requestBody", {}).get("content", {})
    for media in body.values():
        if "schema" in media:
            media["schema"] = nul_free(media["schema"])


def _is_path(convertor: object) -> bool:
    return type(convertor).__name__ == "PathConvertor"


def _rendered(
    render: ErrorRenderer, samples: Iterable[ErrorInfo]
) -> Iterator[tuple[int, Any, list[str]]]:
    """(status, body, notable headers) of each sample, as `render` answers it."""
    for info in samples:
        response = render(_sample_request(), info)
        headers = [h for h in _ERROR_HEADERS if h in response.headers]
        yield response.status_code, orjson.loads(bytes(response.body)), headers


def _sample_request() -> Request:
    state = {"request_id": "0" * 32, "started": time.perf_counter()}
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "raw_path": b"/",
            "root_path": "",
            "scheme": "http",
            "query_string": b"",
            "headers": [],
            "client": None,
            "server": None,
            "state": state,
        }
    )


def _chains(route: APIRoute) -> Iterator[AuthChain]:
    """The authentication chains a route's dependencies call."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        owner = getattr(dependant.call, "__self__", None)
        if isinstance(owner, AuthChain):
            yield owner
        pending.extend(dependant.dependencies)


def _optional(route: APIRoute) -> bool:
    """True when every chain the route calls admits anonymous callers."""
    calls: list[Callable[..., Any]] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if isinstance(getattr(dependant.call, "__self__", None), AuthChain):
            calls.append(dependant.call)  # type: ignore[arg-type]
        pending.extend(dependant.dependencies)
    return bool(calls) and all(getattr(c, "__name__", "") == "optional" for c in calls)


def _faces_by_route(faces: Sequence[EnabledFace]) -> dict[int, EnabledFace]:
    found: dict[int, EnabledFace] = {}
    for face in faces:
        for router in (*face.spec.routers, *face.spec.optional_routers(face.options)):
            for route in api_routes(router.routes):
                found[id(route)] = face
    return found


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind} if isinstance(kind, str) else set()


def _is_any(schema: dict[str, Any]) -> bool:
    """A schema that says nothing about the value (`Any`): only annotations."""
    return not (schema.keys() - {"title", "description", "default", "examples"})


def _json_value() -> dict[str, Any]:
    """Any JSON value whose texts (keys included) hold no NUL."""
    return {
        "description": "Any JSON value; no text in it (keys included) holds a NUL.",
        "anyOf": [
            {"type": "string", "pattern": NUL_FREE},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "null"},
            {"type": "array", "items": dict(_ANY_JSON)},
            {
                "type": "object",
                "propertyNames": {"pattern": NUL_FREE},
                "additionalProperties": dict(_ANY_JSON),
            },
        ],
    }
