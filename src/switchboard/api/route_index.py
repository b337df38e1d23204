"""Dispatch a request among the routes that can answer its first path segment only.

Starlette tries an app's routes one by one, in order, until one matches: with five faces
mounted, a request to a route near the end of the list (`POST /api/chat`) paid for a
hundred regular expressions first, about a quarter of its CPU. A route whose path starts
with a literal segment (`/api/...`, `/v1/...`, a mount at `/socket.io`) can only match
requests whose path starts with that segment; the index keeps, for each such segment,
the routes of that segment and those that could match any path, in their original
order. The first full match, the first partial one (405) and, with no match at all,
Starlette's own handling (its redirect to the slash twin, then 404) are unchanged.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Router
from starlette.types import Receive, Scope, Send


def index_routes(router: Router) -> None:
    """Make `router` dispatch through a first-segment index of its routes (rebuilt when
    routes are added)."""
    if router.middleware_stack != router.app:
        raise ValueError("the router has middleware of its own, which the index would skip")
    router.middleware_stack = _RouteIndex(router).app


class _RouteIndex:
    def __init__(self, router: Router) -> None:
        self._router = router
        self._indexed = -1  # how many routes the index was built from
        self._by_segment: dict[str, list[BaseRoute]] = {}
        self._anywhere: list[BaseRoute] = []

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._router.app(scope, receive, send)
            return
        scope.setdefault("router", self._router)
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self._candidates(_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = route, child_scope
        if partial is not None:
            route, child_scope = partial
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        # Nothing answers: Starlette's own pass finds nothing either, then redirects or
        # answers 404 as it always has.
        await self._router.app(scope, receive, send)

    def _candidates(self, path: str) -> list[BaseRoute]:
        routes = self._router.routes
        if len(routes) != self._indexed:
            self._build(routes)
        return self._by_segment.get(_first_segment(path), self._anywhere)

    def _build(self, routes: list[BaseRoute]) -> None:
        keys = [_literal_first_segment(route) for route in routes]
        segments = {key for key in keys if key is not None}
        self._by_segment = {
            segment: [r for r, key in zip(routes, keys, strict=True) if key in (segment, None)]
            for segment in segments
        }
        self._anywhere = [r for r, key in zip(routes, keys, strict=True) if key is None]
        self._indexed = len(routes)


def _route_path(scope: Scope) -> str:
    """The path the routes match: without the `root_path` the app is mounted under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def _literal_first_segment(route: BaseRoute) -> str | None:
    """The literal first segment every path `route` matches starts with; None when it
    may match paths of any first segment (a parameter there, the root, a host route)."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    segment = _first_segment(path)
    return segment if segment and "{" not in segment else None
