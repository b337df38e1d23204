"""API-key scopes hold on every route of every face (default deny).

The walk sends each route a request with a key of each single scope: a key whose scope
is not the one the route declares is refused 403 before the route does anything; a
route that declares no scope takes signed-in sessions only.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import httpx
import pytest

from switchboard.api.admission import admission_of
from switchboard.api.faces import api_routes
from switchboard.core.accounts.rules import KNOWN_SCOPES
from tests.fixtures.app import Harness, User

PARAM = re.compile(r"\{[^}]+\}")
# Safe to call with an empty body: they only read, or refuse an empty body.
NOT_FACE_PATHS = frozenset(
    {"/metrics", "/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)


def concrete(path: str) -> str:
    return PARAM.sub("00000000-0000-0000-0000-000000000000", path)


async def status(
    client: httpx.AsyncClient, method: str, path: str, user: User, *, wait: float = 2
) -> int | None:
    """The answer's status; None for an event stream that was let in (in-process, a
    response arrives only when the app finishes, and an admitted stream never does)."""
    try:
        async with asyncio.timeout(wait):
            response = await client.request(method, concrete(path), headers=user.headers)
    except TimeoutError:
        return None
    return response.status_code


@pytest.fixture
async def harness(harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    """Every route served: the database view (off by default: 403) is turned on, so that
    a 403 here is always a scope's."""
    return await harness_factory(database_api=True)


@pytest.fixture
async def keys(harness: Harness) -> dict[str, User]:
    return {
        scope: await harness.user(f"{scope}@example.com", scopes=[scope], admin=True)
        for scope in KNOWN_SCOPES
    }


def authenticated_routes(harness: Harness) -> list[tuple[str, str, str | None]]:
    routes = []
    for route in api_routes(harness.app.routes):
        admission = admission_of(route)
        if route.path in NOT_FACE_PATHS or admission is None or admission.public:
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                routes.append((method, route.path, admission.scope))
    return routes


async def test_every_route_refuses_a_key_of_another_scope(
    harness: Harness, keys: dict[str, User]
) -> None:
    routes = authenticated_routes(harness)
    assert len(routes) > 40
    leaks = []
    for method, path, needed in routes:
        for scope, user in keys.items():
            # Only a key of the needed scope may open a stream that never answers: any
            # other is refused at once, however long a busy machine takes to say so.
            wait = 2 if scope == needed else 60
            code = await status(harness.client, method, path, user, wait=wait)
            refused = code == 403
            if scope != needed and not refused:
                leaks.append(f"{method} {path} needs {needed!r}: a {scope!r} key got {code}")
            if scope == needed and refused:
                leaks.append(f"{method} {path}: its own {scope!r} key was refused")
    assert not leaks, "\n".join(leaks)
