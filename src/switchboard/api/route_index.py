"""Dispatch a request among the routes whose paths can match it, by their literal prefix.

Starlette tries an app's routes one by one, in order, until one matches: with five faces
mounted, a request to a route near the end of the list (`POST /api/chat`) paid for about
ninety regular expressions first, a quarter of its CPU. A route whose path starts with
literal segments (`/api/chat`, `/api/tasks/{id}`, a mount at `/socket.io`) can only
match paths that start with those segments; the index tries, for a request, only the
routes whose literal prefix its path starts with, in their original order. The first
full match, the first partial one (405) and, with no match at all, Starlette's own
handling (its redirect to the slash twin, then 404) are unchanged.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Router
from starlette.types import Receive, Scope, Send


def index_routes(router: Router) -> None:
    """Make `router` dispatch through a prefix index of its routes (rebuilt when routes
    are added)."""
    if router.middleware_stack != router.app:
        raise ValueError("the router has middleware of its own, which the index would skip")
    router.middleware_stack = _RouteIndex(router).app


class _RouteIndex:
    def __init__(self, router: Router) -> None:
        self._router = router
        self._indexed = -1  # how many routes the index was built from
        # Routes by the literal segments their paths start with (before any parameter),
        # with their places in the router's list.
        self._by_prefix: dict[tuple[str, ...], list[tuple[int, BaseRoute]]] = {}
        self._depth = 0

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
        segments = _segments(path)
        found: list[tuple[int, BaseRoute]] = []
        for depth in range(min(self._depth, len(segments)) + 1):
            found.extend(self._by_prefix.get(segments[:depth], ()))
        found.sort(key=lambda entry: entry[0])
        return [route for _, route in found]

    def _build(self, routes: list[BaseRoute]) -> None:
        self._by_prefix = {}
        for position, route in enumerate(routes):
            prefix = _literal_prefix(route)
            self._by_prefix.setdefault(prefix, []).append((position, route))
        self._depth = max((len(prefix) for prefix in self._by_prefix), default=0)
        self._indexed = len(routes)


def _route_path(scope: Scope) -> str:
    """The path the routes match: without the `root_path` the app is mounted under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def _segments(path: str) -> tuple[str, ...]:
    return tuple(path[1:].split("/")) if path.startswith("/") else (path,)


def _literal_prefix(route: BaseRoute) -> tuple[str, ...]:
    """The literal segments every path `route` matches starts with: those before its
    first parameter; none when it may match any path (a host route, a root mount)."""
    included = getattr(route, "effective_candidates", None)
    if callable(included):
        # FastAPI keeps an included router as one route over its own routes (each with
        # its full path): what they all start with.
        return _common_prefix([_literal_prefix(child) for child in included()])
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return ()
    prefix: list[str] = []
    for segment in _segments(path):
        if "{" in segment:
            break
        prefix.append(segment)
    return tuple(prefix)


def _common_prefix(prefixes: list[tuple[str, ...]]) -> tuple[str, ...]:
    if not prefixes:
        return ()
    common = prefixes[0]
    for prefix in prefixes[1:]:
        size = 0
        while size < min(len(common), len(prefix)) and common[size] == prefix[size]:
            size += 1
        common = common[:size]
    return common
