"""CORS (issue 12, item 1): SWITCHBOARD_CORS_ORIGINS through the whole app.

Preflights are answered on a route of every registered face and on the shared paths;
answers to a listed origin, errors included (a 401 from a face, the last-resort 500),
carry the CORS headers and expose the headers clients read; another origin gets none;
a wildcard or something that is not an origin is refused at start.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import APIRouter

from switchboard.api.cors import EXPOSED_HEADERS
from switchboard.api.faces import FaceSpec, api_routes
from switchboard.bootstrap import ConfigError, build_context
from switchboard.config import Settings
from switchboard.kit.origins import parse_origins
from switchboard.registry import FACES
from tests.fixtures.app import Harness

ALLOWED = "https://chat.example.com"
OTHER = "https://evil.example.net"
SHARED_PATHS = ["/", "/v1/models", "/api/health", "/healthz", "/ready"]

StartApp = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def cors_app(harness_factory: StartApp) -> Harness:
    """The app with one allowed origin (written as operators might: case, default port)."""
    return await harness_factory(
        cors_origins=["HTTPS://Chat.Example.com:443", "http://localhost:3000"]
    )


def a_route_of(spec: FaceSpec) -> tuple[str, str]:
    """(method, path) of the face's first route, path parameters filled in."""
    routers: list[APIRouter] = list(spec.routers)
    for route in api_routes(route for router in routers for route in router.routes):
        method = sorted(route.methods or {"GET"})[0]
        return method, re.sub(r"\{[^}]+\}", "x", route.path)
    raise AssertionError(f"face {spec.name} has no route")


def cors_headers(response: httpx.Response) -> dict[str, str]:
    """The response's Access-Control-* headers."""
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def preflight(
    client: httpx.AsyncClient, path: str, method: str, origin: str = ALLOWED
) -> httpx.Response:
    """A browser's preflight for a credentialed `method` call with a JSON body."""
    return await client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, x-request-id",
        },
    )


@pytest.mark.parametrize("face", sorted(FACES))
async def test_preflight_is_answered_on_every_face(cors_app: Harness, face: str) -> None:
    method, path = a_route_of(FACES[face][0])
    response = await preflight(cors_app.client, path, method)
    assert response.status_code == 200, (face, method, path, response.text)
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    assert method in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"]
    assert "x-request-id" in response.headers  # the request context still sees it


@pytest.mark.parametrize("path", SHARED_PATHS)
async def test_preflight_is_answered_on_shared_paths(cors_app: Harness, path: str) -> None:
    response = await preflight(cors_app.client, path, "GET", origin="http://localhost:3000")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"


async def test_an_error_answer_carries_the_headers_and_exposes_what_clients_read(
    cors_app: Harness,
) -> None:
    response = await cors_app.client.get("/v1/models", headers={"Origin": ALLOWED})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = [h.strip() for h in response.headers["access-control-expose-headers"].split(",")]
    assert set(exposed) == set(EXPOSED_HEADERS)
    assert {"X-Request-ID", "Retry-After", "X-RateLimit-Remaining", "RateLimit-Reset"} <= set(
        exposed
    )
    assert "Origin" in response.headers["vary"]


async def test_a_signed_in_call_from_a_listed_origin_is_readable(cors_app: Harness) -> None:
    user = await cors_app.user("cors@example.com")
    response = await cors_app.client.get("/v1/models", headers={**user.headers, "Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "x-ratelimit-remaining" in response.headers


@pytest.fixture
async def failing_client(cors_app: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app with a route that fails unexpectedly (a bug: a 500)."""

    async def boom() -> None:
        raise RuntimeError("a bug")

    cors_app.app.add_api_route("/_test/boom", boom)
    transport = httpx.ASGITransport(app=cors_app.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_last_resort_error_carries_the_headers(failing_client: httpx.AsyncClient) -> None:
    response = await failing_client.get("/_test/boom", headers={"Origin": ALLOWED})
    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in response.headers
    other = await failing_client.get("/_test/boom", headers={"Origin": OTHER})
    assert other.status_code == 500 and cors_headers(other) == {}


async def test_another_origin_gets_no_cors_headers(cors_app: Harness) -> None:
    response = await cors_app.client.get("/", headers={"Origin": OTHER})
    assert response.status_code == 200
    assert cors_headers(response) == {}
    refused = await preflight(cors_app.client, "/v1/chat/completions", "POST", origin=OTHER)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


async def test_without_origins_every_cross_origin_preflight_is_refused(
    harness_factory: StartApp,
) -> None:
    harness = await harness_factory()
    response = await preflight(harness.client, "/v1/chat/completions", "POST")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "origins",
    [["*"], ["https://*.example.com"], ["https://ok.example.com", "*"]],
)
def test_a_wildcard_is_refused_at_start(
    settings_factory: Callable[..., Settings], origins: list[str]
) -> None:
    with pytest.raises(ConfigError, match=r"SWITCHBOARD_CORS_ORIGINS: .*wildcards are refused"):
        build_context(settings_factory(cors_origins=origins))


@pytest.mark.parametrize(
    "origin", ["chat.example.com", "https://chat.example.com/app", "ftp://x.example", "https://"]
)
def test_what_is_not_an_origin_is_refused_at_start(
    settings_factory: Callable[..., Settings], origin: str
) -> None:
    with pytest.raises(ConfigError, match=r"SWITCHBOARD_CORS_ORIGINS: .*is not an origin"):
        build_context(settings_factory(cors_origins=[origin]))


def test_origins_are_written_as_browsers_send_them() -> None:
    assert parse_origins(
        ["HTTPS://Chat.Example.com:443/", "http://localhost:3000", " http://[::1]:80 ", ""]
    ) == ("https://chat.example.com", "http://localhost:3000", "http://[::1]")


def test_the_setting_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CORS_ORIGINS", "https://a.example, http://localhost:5173")
    assert Settings().cors_origins == ["https://a.example", "http://localhost:5173"]
