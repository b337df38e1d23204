"""Shared paths (api.shared_paths): one route merges every face's fragment; its errors carry
every face's error fields, with the first face's status; a guarded fragment guards the path."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi import FastAPI, Request, Response

from switchboard.api.auth import AuthChain, Bearer
from switchboard.api.errors import ErrorInfo, status_of
from switchboard.api.faces import api_routes
from switchboard.api.responses import JSONResponse
from switchboard.api.shared_paths import (
    Contribution,
    SharedFragment,
    merged_renderer,
    mount_shared_paths,
)
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services
from switchboard.core.errors import ErrorKind
from switchboard.registry import FACES
from tests.api.apps import serve
from tests.fixtures.app import Harness

UNAUTHENTICATED = ErrorInfo(ErrorKind.UNAUTHENTICATED, "missing_credentials", "Sign in")


def openai_like(request: Request, info: ErrorInfo) -> Response:
    """A face using the shared status table."""
    body = {"error": {"message": info.message, "type": "face_a"}}
    return JSONResponse(body, status_code=status_of(info), headers={"X-Face": "a"})


def pocket_like(request: Request, info: ErrorInfo) -> Response:
    """A face answering every error with 400."""
    body = {"success": False, "error": {"message": "ignored", "code": info.code}}
    return JSONResponse(body, status_code=400, headers={"X-Face": "b"})


def recording(seen: list[tuple[str, Principal | None]], face: str, **values: Any) -> Any:
    """A fragment's build: `values`, noting which principal it was given."""

    async def build(
        request: Request, services: Services, principal: Principal | None
    ) -> dict[str, Any]:
        assert isinstance(services, Services)
        seen.append((face, principal))
        return dict(values)

    return build


def shared_app(harness: Harness, contributions: list[Contribution]) -> FastAPI:
    app = FastAPI()
    app.state.ctx = harness.ctx
    mount_shared_paths(app, contributions)
    return app


def fake_request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "state": {}})


# -- merging --------------------------------------------------------------------------------


async def test_fragments_merge_and_owners_win(harness: Harness) -> None:
    seen: list[tuple[str, Principal | None]] = []
    contributions: list[Contribution] = [
        (
            "a",
            openai_like,
            SharedFragment("/info", frozenset({"name", "a"}), recording(seen, "a", name="a", a=1)),
        ),
        (
            "b",
            pocket_like,
            SharedFragment(
                "/info",
                frozenset({"name", "b"}),
                recording(seen, "b", name="b", b=2),
                owns=frozenset({"name"}),
            ),
        ),
        ("c", pocket_like, SharedFragment("/info", frozenset({"c"}), recording(seen, "c", c=3))),
    ]
    async with serve(shared_app(harness, contributions)) as client:
        response = await client.get("/info")
    assert response.status_code == 200
    assert response.json() == {"name": "b", "a": 1, "b": 2, "c": 3}
    # Every fragment is built, in order; a public path has no principal.
    assert seen == [("a", None), ("b", None), ("c", None)]


def test_colliding_keys_are_refused_naming_the_path_faces_and_key(harness: Harness) -> None:
    contributions: list[Contribution] = [
        ("a", openai_like, SharedFragment("/info", frozenset({"name"}), recording([], "a"))),
        ("b", pocket_like, SharedFragment("/info", frozenset({"name"}), recording([], "b"))),
    ]
    with pytest.raises(ValueError, match=r"GET /info: faces a, b all set 'name'"):
        mount_shared_paths(FastAPI(), contributions)


def test_each_path_is_one_route(harness: Harness) -> None:
    contributions: list[Contribution] = [
        ("a", openai_like, SharedFragment("/", frozenset({"a"}), recording([], "a"))),
        ("b", pocket_like, SharedFragment("/", frozenset({"b"}), recording([], "b"))),
        ("b", pocket_like, SharedFragment("/v1/models", frozenset({"data"}), recording([], "b"))),
    ]
    app = shared_app(harness, contributions)
    routes = {route.path: route for route in api_routes(app.routes)}
    assert sorted(routes) == ["/", "/v1/models"]
    # `GET /` is a landing page, not part of any face's API document.
    assert not routes["/"].include_in_schema
    assert routes["/v1/models"].include_in_schema


# -- errors ---------------------------------------------------------------------------------


def test_merged_error_bodies_keep_the_first_renderers_status_and_headers() -> None:
    response = merged_renderer([openai_like, pocket_like])(fake_request(), UNAUTHENTICATED)
    assert response.status_code == 401
    assert response.headers["x-face"] == "a"
    assert orjson.loads(bytes(response.body)) == {
        # On a clash the first face's value stays; nested objects merge.
        "error": {"message": "Sign in", "type": "face_a", "code": "missing_credentials"},
        "success": False,
    }
    assert int(response.headers["content-length"]) == len(bytes(response.body))
    reversed_order = merged_renderer([pocket_like, openai_like])(fake_request(), UNAUTHENTICATED)
    assert reversed_order.status_code == 400
    assert reversed_order.headers["x-face"] == "b"
    assert orjson.loads(bytes(reversed_order.body))["error"]["message"] == "ignored"


def test_merged_errors_of_real_faces_answer_each_client() -> None:
    """An OpenAI client finds `error.message` and `error.type`, a PocketLLM client
    `success: false`, in the same response."""
    render = merged_renderer([FACES["openai"][0].render_error, FACES["pocketllm"][0].render_error])
    info = ErrorInfo(ErrorKind.RATE_LIMITED, "rate_limit_exceeded", "Slow down", retry_after=3)
    response = render(fake_request(), info)
    body = orjson.loads(bytes(response.body))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert {"message", "type", "code"} <= set(body["error"])
    assert body["success"] is False


# -- a guarded fragment ------------------------------------------------------------------------


def guarded_app(harness: Harness, seen: list[tuple[str, Principal | None]]) -> FastAPI:
    return shared_app(
        harness,
        [
            (
                "a",
                openai_like,
                SharedFragment("/v1/models", frozenset({"data"}), recording(seen, "a", data=[])),
            ),
            (
                "b",
                pocket_like,
                SharedFragment(
                    "/v1/models",
                    frozenset({"object"}),
                    recording(seen, "b", object="list"),
                    chain=AuthChain(Bearer()),
                    scope="models",
                ),
            ),
        ],
    )


async def test_a_guarded_fragment_guards_the_whole_path(harness: Harness) -> None:
    seen: list[tuple[str, Principal | None]] = []
    async with serve(guarded_app(harness, seen)) as client:
        response = await client.get("/v1/models")
    assert response.status_code == 401  # the first face's status
    assert response.headers["x-face"] == "a"
    assert response.json() == {
        "error": {
            "message": "Missing bearer token",
            "type": "face_a",
            "code": "missing_credentials",
        },
        "success": False,
    }
    assert seen == []


async def test_the_guarded_path_checks_the_scope(harness: Harness) -> None:
    seen: list[tuple[str, Principal | None]] = []
    chat_only = await harness.user("a@example.com", scopes=["chat"])
    async with serve(guarded_app(harness, seen)) as client:
        response = await client.get("/v1/models", headers=chat_only.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert "'models'" in response.json()["error"]["message"]
    assert seen == []


async def test_every_fragment_of_a_guarded_path_gets_the_caller(harness: Harness) -> None:
    seen: list[tuple[str, Principal | None]] = []
    user = await harness.user("a@example.com", scopes=["models"])
    async with serve(guarded_app(harness, seen)) as client:
        response = await client.get("/v1/models", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {"data": [], "object": "list"}
    assert [(name, p.user_id if p else None) for name, p in seen] == [
        ("a", user.id),
        ("b", user.id),
    ]
