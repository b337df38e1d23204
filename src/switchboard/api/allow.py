"""405 Method Not Allowed: every method the path answers in `Allow`, in the face's envelope.

Starlette answers a 405 from the first route whose path matched, so a path served by
several routes (`GET` and `DELETE /v1/jobs/{id}` are two routes) listed only that one's
methods, and in FastAPI's `{"detail": ...}` rather than the face's shape. Here `Allow`
lists the methods of every route of the path's template: the most specific template
that matches, as OpenAPI matches a concrete path before a templated one (a request for
`/v1/models/x/default` is about `/v1/models/{model_id}/default`, not about
`/v1/models/{provider}/{model}`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import Request, Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route

from switchboard.api.errors import info_from_exception, renderer_of
from switchboard.api.responses import JSONResponse

# The order methods are listed in (the rest follow, sorted).
_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """The app's handler of 405s: the path's methods in `Allow`, the face's error body."""
    assert isinstance(exc, HTTPException)
    routes = matching_routes(request.app.router.routes, request.scope["path"])
    headers = {"Allow": allowed_methods(routes) or (exc.headers or {}).get("Allow", "")}
    info = info_from_exception(HTTPException(405, headers=headers))
    assert info is not None
    render = next((r for r in map(renderer_of, routes) if r is not None), None)
    if render is None:
        return JSONResponse({"detail": info.message}, status_code=405, headers=headers)
    response = render(request, info)
    response.headers.update(headers)
    return response


def matching_routes(routes: Iterable[BaseRoute], path: str) -> list[Route]:
    """The routes of the most specific path template that matches `path`."""
    found = [route for route in all_routes(routes) if route.path_regex.match(path)]
    if not found:
        return []
    best = max(_specificity(route) for route in found)
    return [route for route in found if _specificity(route) == best]


def allowed_methods(routes: Iterable[Route]) -> str:
    """The `Allow` value of `routes`: their methods, common ones first."""
    methods = {method for route in routes for method in route.methods or ()}
    ordered = [m for m in _ORDER if m in methods] + sorted(methods - set(_ORDER))
    return ", ".join(ordered)


def all_routes(routes: Iterable[BaseRoute]) -> Iterator[Route]:
    """Every HTTP route, looking inside included routers (not inside mounted apps)."""
    for route in routes:
        if isinstance(route, Route):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's lazy include
        if included is not None:
            yield from all_routes(included.routes)


def _specificity(route: Route) -> int:
    """How many of the template's segments are literal text."""
    return sum(1 for segment in route.path.split("/") if segment and "{" not in segment)
