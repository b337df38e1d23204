"""Lean routes: one-pass body parsing with FastAPI's contract (errors, OpenAPI)."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from switchboard.api.bodies import before_parsing, lean_handler
from switchboard.api.errors import ErrorInfo, face_route_class
from switchboard.api.responses import JSONResponse


class Greeting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=10)
    times: int = 1


def render(request: Request, info: ErrorInfo) -> Response:
    return JSONResponse(
        {"code": info.code, "message": info.message, "validation": list(info.validation)},
        status_code=info.status or 422,
    )


def app() -> FastAPI:
    router = APIRouter()

    async def greet(body: Greeting, request: Request) -> Response:
        """Say hello."""
        return JSONResponse({"hello": body.name * body.times, "path": request.url.path})

    router.add_api_route(
        "/greet", greet, methods=["POST"], response_model=None,
        route_class_override=face_route_class(render, lean=True),
    )  # fmt: skip
    application = FastAPI()
    application.include_router(router)
    return application


@pytest.fixture
async def client() -> Any:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_valid_body_reaches_the_endpoint_as_its_model(client: httpx.AsyncClient) -> None:
    response = await client.post("/greet", json={"name": "ab", "times": 2})
    assert response.status_code == 200
    assert response.json() == {"hello": "abab", "path": "/greet"}


async def test_json_with_a_charset_or_a_json_suffix_is_json(client: httpx.AsyncClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        response = await client.post(
            "/greet", content=b'{"name": "x"}', headers={"content-type": content_type}
        )
        assert response.status_code == 200, content_type


@pytest.mark.parametrize(
    ("content", "content_type", "error_type", "message"),
    [
        (b"", "application/json", "missing", "Field required"),
        (b'{"name": ', "application/json", "json_invalid", "Request body is not valid JSON"),
        (b'{"name": "x"}', "text/plain", "content_type", "Content-Type must be application/json"),
        (b'{"name": "x"}', None, "content_type", "Content-Type must be application/json"),
    ],
)
async def test_unusable_bodies_are_validation_errors(
    client: httpx.AsyncClient,
    content: bytes,
    content_type: str | None,
    error_type: str,
    message: str,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/greet", content=content, headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"] == message
    assert body["validation"][0]["type"] == error_type
    assert body["validation"][0]["loc"] == ["body"]


async def test_field_errors_point_into_the_body_and_never_echo_the_input(
    client: httpx.AsyncClient,
) -> None:
    secret = "sk-" + "s" * 40
    response = await client.post("/greet", json={"name": secret, "extra": 1})
    body = response.json()
    assert response.status_code == 422
    assert sorted(tuple(e["loc"]) for e in body["validation"]) == [
        ("body", "extra"),
        ("body", "name"),
    ]
    assert secret not in response.text


async def test_the_openapi_entry_documents_the_body_model() -> None:
    schema = app().openapi()
    operation = schema["paths"]["/greet"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/Greeting")
    assert operation["description"] == "Say hello."


async def test_a_client_gone_before_its_body_is_a_400_not_a_bug() -> None:
    messages: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/greet", "raw_path": b"/greet",
        "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
        "server": ("test", 80), "client": ("127.0.0.1", 1),
        "headers": [(b"content-type", b"application/json")],
    }  # fmt: skip
    await app()(scope, receive, send)
    assert messages[0]["status"] == 400


def test_an_endpoint_without_a_body_model_is_refused_at_start_up() -> None:
    async def bad(body: dict[str, Any], request: Request) -> Response:
        return JSONResponse({})

    with pytest.raises(TypeError, match="pydantic model"):
        lean_handler(bad)


async def test_a_prelude_runs_before_the_body_is_parsed() -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def refuse_strangers(request: Request) -> AsyncIterator[None]:
        if "authorization" not in request.headers:
            raise HTTPException(401, "who are you?")
        seen.append("prelude")
        yield
        seen.append("closed")

    @before_parsing(refuse_strangers)
    async def greet(body: Greeting, request: Request) -> Response:
        seen.append(body.name)
        return JSONResponse({})

    router = APIRouter(route_class=face_route_class(render, lean=True))
    router.add_api_route("/greet", greet, methods=["POST"], response_model=None)
    application = FastAPI()
    application.include_router(router)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        refused = await client.post("/greet", content=b"{not json")
        assert refused.status_code == 401
        ok = await client.post("/greet", json={"name": "x"}, headers={"authorization": "me"})
        assert ok.status_code == 200
    assert seen == ["prelude", "x", "closed"]


async def test_a_nul_in_any_string_is_refused_with_its_field(client: httpx.AsyncClient) -> None:
    # PostgreSQL cannot store a NUL in text: refused here, before any service sees it.
    response = await client.post(
        "/greet", content=b'{"name": "a\\u0000b"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["validation"][0]["loc"] == ["body", "name"]


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/greet", content=b'{"name": "\\\\u0000"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["hello"] == "\\u0000"
