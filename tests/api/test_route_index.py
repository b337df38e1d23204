"""The first-segment route index answers every request as Starlette's own loop would."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route

from switchboard.api.route_index import index_routes

PATHS = [
    "/", "/api/chat", "/api/chat/", "/api/tasks/7", "/api/nothing", "/v1/models",
    "/v1/models/abc", "/7/detail", "/mounted", "/mounted/deep/path", "/unknown",
    "/api", "/healthz", "/v1",
]  # fmt: skip


def answer(name: str) -> Route:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return Route("/", endpoint)


def routes() -> list[BaseRoute]:
    """Literal first segments, parameters first, a mount, a root route, and two routes of
    one path whose methods differ (the first partial match answers 405)."""

    def route(path: str, name: str, methods: list[str] | None = None) -> Route:
        return Route(path, answer(name).endpoint, methods=methods)

    sub = Starlette(routes=[route("/{rest:path}", "mount")])
    return [
        route("/api/chat", "chat", ["POST"]),
        route("/{id}/detail", "detail"),
        route("/api/tasks/{task_id}", "task"),
        route("/v1/models", "models"),
        route("/v1/models/{model}", "model"),
        Mount("/mounted", app=sub),
        route("/", "root"),
        route("/healthz", "healthz", ["GET"]),
        route("/{anything}", "anything", ["PUT"]),
    ]


async def answers(app: Starlette | FastAPI) -> list[tuple[str, str, int, str]]:
    transport = httpx.ASGITransport(app=app)
    seen = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method in ("GET", "POST", "PUT"):
            for path in PATHS:
                response = await client.request(method, path)
                seen.append((method, path, response.status_code, response.text))
    return seen


@pytest.mark.parametrize("redirect_slashes", [True, False])
async def test_the_index_answers_like_starlettes_loop(redirect_slashes: bool) -> None:
    plain = Starlette(routes=routes())
    indexed = Starlette(routes=routes())
    plain.router.redirect_slashes = indexed.router.redirect_slashes = redirect_slashes
    index_routes(indexed.router)

    expected = await answers(plain)
    assert await answers(indexed) == expected
    # The cases the index must keep: a 405 from a partial match, a 404, a redirect.
    statuses = {status for _, _, status, _ in expected}
    assert {200, 404, 405} <= statuses
    assert (307 in statuses) is redirect_slashes


def fastapi_app() -> FastAPI:
    """FastAPI keeps each included router as one route over its own: routers under one
    literal prefix, under parameters, and one whose paths share nothing."""
    app = FastAPI()
    api = APIRouter(prefix="/api")
    api.add_api_route("/chat", answer("chat").endpoint, methods=["POST"])
    api.add_api_route("/tasks/{task_id}", answer("task").endpoint, methods=["GET"])
    mixed = APIRouter()
    mixed.add_api_route("/healthz", answer("healthz").endpoint, methods=["GET"])
    mixed.add_api_route("/{anything}", answer("anything").endpoint, methods=["PUT"])
    nested = APIRouter(prefix="/v1")
    inner = APIRouter(prefix="/models")
    inner.add_api_route("", answer("models").endpoint, methods=["GET"])
    inner.add_api_route("/{model}", answer("model").endpoint, methods=["GET"])
    nested.include_router(inner)
    for router in (api, mixed, nested):
        app.include_router(router)
    app.add_api_route("/", answer("root").endpoint, methods=["GET"])
    return app


async def test_the_index_answers_like_fastapis_included_routers() -> None:
    plain, indexed = fastapi_app(), fastapi_app()
    index_routes(indexed.router)

    expected = await answers(plain)
    assert await answers(indexed) == expected
    assert {200, 404, 405, 307} <= {status for _, _, status, _ in expected}


async def test_routes_added_later_are_found() -> None:
    app = Starlette(routes=routes())
    index_routes(app.router)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/late/page")).status_code == 404
        app.router.routes.append(Route("/late/page", answer("late").endpoint))
        assert (await client.get("/late/page")).text == "late {}"
