"""Admission (api.admission): the scope a route needs and the rate it counts against,
shown in the face's header dialect; and the walk proving every face route declares one."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from switchboard.api.admission import (
    Admission,
    Admit,
    Dialect,
    KeyBy,
    admission_of,
    admitted_explicitly,
)
from switchboard.api.auth import AuthChain, Bearer
from switchboard.api.faces import api_routes
from switchboard.registry import FACES
from tests.api.apps import plain_router, principal_body, serve, small_app
from tests.fixtures.app import Harness

CHAIN = AuthChain(Bearer())
ONE_PEER = ("127.0.0.1", 50000)
OTHER_PEER = ("127.0.0.2", 50000)
# Routes that are the app's own, not a face's.
NOT_FACE_PATHS = frozenset(
    {"/metrics", "/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)


def admitted_app(harness: Harness, chain: AuthChain | None = CHAIN, **admit: Any) -> FastAPI:
    """`GET /limited` behind `Admit(chain, **admit)`; a key with `chat` may call it unless
    the test names another scope (or `scope=None`: sessions only)."""
    if chain is not None:
        admit.setdefault("scope", "chat")
    router = plain_router()

    @router.get("/limited", dependencies=[Admit(chain, **admit)])
    async def limited(request: Request) -> dict[str, Any]:
        return principal_body(getattr(request.state, "principal", None))

    return small_app(harness, router)


async def statuses(
    client: httpx.AsyncClient, times: int, headers: dict[str, str] | None = None
) -> list[int]:
    return [(await client.get("/limited", headers=headers)).status_code for _ in range(times)]


# -- scope ----------------------------------------------------------------------------------


async def test_a_key_without_the_scope_is_refused_by_name(harness: Harness) -> None:
    chat_only = await harness.user("a@example.com", scopes=["chat"])
    async with serve(admitted_app(harness, scope="images")) as client:
        response = await client.get("/limited", headers=chat_only.headers)
        assert response.status_code == 403
        error = response.json()["error"]
        assert (error["kind"], error["code"]) == ("permission_denied", "missing_scope")
        assert "'images'" in error["message"]
        # A signed-in session has every scope; so has a key given this one.
        assert (await client.get("/limited", headers=chat_only.token_headers)).status_code == 200
        images = await harness.user("b@example.com", scopes=["images"])
        assert (await client.get("/limited", headers=images.headers)).status_code == 200


async def test_no_scope_takes_sessions_only(harness: Harness) -> None:
    # Default deny: a route that names no scope is account business, closed to API keys.
    every_scope = await harness.user("a@example.com")
    async with serve(admitted_app(harness, scope=None)) as client:
        response = await client.get("/limited", headers=every_scope.headers)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "session_required"
        assert (await client.get("/limited", headers=every_scope.token_headers)).status_code == 200


# -- rules ----------------------------------------------------------------------------------


async def test_a_literal_rate(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    async with serve(admitted_app(harness, rule="2/minute")) as client:
        assert await statuses(client, 3, user.headers) == [200, 200, 429]


@pytest.mark.parametrize(
    ("rule", "setting"),
    [
        ("default", "rate_limit_default"),
        ("auth", "rate_limit_auth"),
        ("pluginmind", "pluginmind_rate_limit"),  # a face's own, from AppOptions.rate_limits
    ],
)
async def test_a_named_rate_comes_from_the_settings(
    harness_factory: Callable[..., Awaitable[Harness]], rule: str, setting: str
) -> None:
    harness = await harness_factory(**{setting: "2/minute"})
    user = await harness.user("a@example.com")
    async with serve(admitted_app(harness, rule=rule)) as client:
        assert await statuses(client, 3, user.headers) == [200, 200, 429]


async def test_an_unknown_rate_name_is_an_error(harness: Harness) -> None:
    with pytest.raises(KeyError):
        Admission(rule="no-such-rule").rate(harness.ctx)


async def test_no_rule_counts_nothing(harness_factory: Callable[..., Awaitable[Harness]]) -> None:
    harness = await harness_factory(rate_limit_default="1/minute")
    user = await harness.user("a@example.com")
    async with serve(admitted_app(harness, rule=None)) as client:
        responses = [await client.get("/limited", headers=user.headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert not any(
        name.lower().startswith(("x-ratelimit", "ratelimit")) for name in responses[0].headers
    )


# -- whose counter ----------------------------------------------------------------------------


async def test_by_user_each_account_has_its_own_counter(harness: Harness) -> None:
    first, second = await harness.user("a@example.com"), await harness.user("b@example.com")
    async with serve(admitted_app(harness, rule="1/minute", key=KeyBy.USER)) as client:
        assert await statuses(client, 2, first.headers) == [200, 429]
        assert await statuses(client, 1, second.headers) == [200]


async def test_by_ip_accounts_on_one_address_share_a_counter(harness: Harness) -> None:
    first, second = await harness.user("a@example.com"), await harness.user("b@example.com")
    app = admitted_app(harness, rule="1/minute", key=KeyBy.IP)
    async with serve(app, client=ONE_PEER) as client:
        assert await statuses(client, 1, first.headers) == [200]
        assert await statuses(client, 1, second.headers) == [429]
    async with serve(app, client=OTHER_PEER) as client:
        assert await statuses(client, 1, second.headers) == [200]


async def test_by_user_or_ip_anonymous_callers_count_per_address(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    app = admitted_app(harness, rule="1/minute", key=KeyBy.USER_OR_IP, optional=True)
    async with serve(app, client=ONE_PEER) as client:
        assert await statuses(client, 2) == [200, 429]
        # Signed in, the same address counts on the account.
        assert await statuses(client, 2, user.headers) == [200, 429]
    async with serve(app, client=OTHER_PEER) as client:
        assert await statuses(client, 1) == [200]


async def test_public_routes_always_count_per_address(harness: Harness) -> None:
    app = admitted_app(harness, None, rule="1/minute", key=KeyBy.USER)
    (route,) = [r for r in api_routes(app.routes) if r.path == "/limited"]
    admission = admission_of(route)
    assert admission is not None and admission.key is KeyBy.IP
    async with serve(app, client=ONE_PEER) as client:
        assert await statuses(client, 2) == [200, 429]
    async with serve(app, client=OTHER_PEER) as client:
        assert await statuses(client, 1) == [200]


async def test_each_group_counts_on_its_own(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    for group in ("face-a", "face-b"):
        async with serve(admitted_app(harness, rule="1/minute", group=group)) as client:
            assert await statuses(client, 2, user.headers) == [200, 429]


# -- headers --------------------------------------------------------------------------------


async def test_x_ratelimit_headers_reset_at_an_epoch(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    app = admitted_app(harness, rule="2/minute", dialect=Dialect.X_RATELIMIT)
    async with serve(app) as client:
        responses = [await client.get("/limited", headers=user.headers) for _ in range(3)]
    assert [r.headers["x-ratelimit-limit"] for r in responses] == ["2", "2", "2"]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    now = time.time()
    for response in responses:
        assert now - 1 <= int(response.headers["x-ratelimit-reset"]) <= now + 61
        assert "ratelimit-limit" not in response.headers
    assert_refusal(responses[-1])


async def test_ratelimit_headers_reset_in_seconds(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    app = admitted_app(harness, rule="2/minute", dialect=Dialect.RATELIMIT)
    async with serve(app) as client:
        responses = [await client.get("/limited", headers=user.headers) for _ in range(3)]
    assert [r.headers["ratelimit-limit"] for r in responses] == ["2", "2", "2"]
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    for response in responses:
        assert 1 <= int(response.headers["ratelimit-reset"]) <= 60
        assert "x-ratelimit-limit" not in response.headers
    assert_refusal(responses[-1])


async def test_no_dialect_sends_no_rate_headers_but_still_retry_after(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    app = admitted_app(harness, rule="1/minute", dialect=Dialect.NONE)
    async with serve(app) as client:
        responses = [await client.get("/limited", headers=user.headers) for _ in range(2)]
    for response in responses:
        assert not any("ratelimit" in name.lower() for name in response.headers)
    assert_refusal(responses[-1])


def assert_refusal(response: httpx.Response) -> None:
    assert response.status_code == 429
    error = response.json()["error"]
    assert (error["kind"], error["code"]) == ("rate_limited", "rate_limit_exceeded")
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_an_explicitly_admitted_endpoint_is_found() -> None:
    router = plain_router()
    admission = Admission(scope="chat", group="lean")

    @router.post("/lean")
    @admitted_explicitly(admission)
    async def lean(request: Request) -> dict[str, str]:
        return {}

    (route,) = api_routes(router.routes)
    assert admission_of(route) is admission


# -- the route walk ---------------------------------------------------------------------------


@pytest.mark.parametrize("face", list(FACES))
async def test_every_route_of_a_face_declares_an_admission(harness: Harness, face: str) -> None:
    spec, options = FACES[face]
    routers = [*spec.routers, *spec.optional_routers(options(harness.settings))]
    routes = [route for router in routers for route in api_routes(router.routes)]
    served = {id(route) for route in api_routes(harness.app.routes)}
    assert routes, f"face {face!r} has no routes"
    assert all(id(route) in served for route in routes), f"face {face!r} is not mounted"
    unadmitted = [describe(route) for route in routes if admission_of(route) is None]
    assert not unadmitted, f"face {face!r}: routes without an admission: {unadmitted}"


async def test_every_route_of_the_app_declares_an_admission(harness: Harness) -> None:
    routes = [r for r in api_routes(harness.app.routes) if r.path not in NOT_FACE_PATHS]
    unadmitted = [describe(route) for route in routes if admission_of(route) is None]
    assert not unadmitted, f"routes without an admission: {unadmitted}"


def describe(route: Any) -> str:
    return f"{sorted(route.methods or ())} {route.path}"
