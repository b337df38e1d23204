"""401 answers say how to authenticate (issue 11, item 16), on a real server.

Every face takes switchboard's bearer credentials, so every 401 carries
`WWW-Authenticate: Bearer realm="switchboard"`; when a bearer credential was presented
and refused, the challenge adds `error="invalid_token"` (RFC 6750 section 3.1), and a
key without the route's scope is told `error="insufficient_scope"`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.app import create_app
from switchboard.bootstrap import build_context
from tests.faces.switchboard.conftest import LiveApp
from tests.fixtures.app import make_settings
from tests.fixtures.threaded_server import serve_in_thread

CHALLENGE = 'Bearer realm="switchboard"'
INVALID = 'Bearer realm="switchboard", error="invalid_token"'
# A well-formed access token signed by nobody we know, and a key of our shape.
FORGED = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
FAKE_KEY = "sb-aaaaaaaaaaaa_" + "b" * 40

# One route of each face that needs a caller (method, path).
PROTECTED = [
    ("GET", "/v1/models"),  # a shared path: the first face's headers are kept
    ("GET", "/v1/chats"),  # PocketLLM
    ("GET", "/switchboard/v1/jobs"),  # native
    ("GET", "/me"),  # PluginMind
    ("POST", "/v1/embeddings"),  # OpenAI
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, migrated_url: str) -> Iterator[LiveApp]:
    settings = make_settings(tmp_path_factory.mktemp("h2-www-auth"), migrated_url)
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    with serve_in_thread(app, name="h2-www-authenticate") as server:
        yield LiveApp(server.url, ctx, server.loop)


@pytest.fixture
async def client(live: LiveApp, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    # `engine`: the rows this test makes are removed after it.
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        yield http


async def call(
    client: httpx.AsyncClient, method: str, path: str, token: str | None = None
) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    body = {"model": "echo/echo", "input": "x"} if method == "POST" else None
    return await client.request(method, path, headers=headers, json=body)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_no_credential_is_challenged_without_an_error(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await call(client, method, path)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == CHALLENGE


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("token", [FORGED, FAKE_KEY])
async def test_a_refused_bearer_is_an_invalid_token(
    client: httpx.AsyncClient, method: str, path: str, token: str
) -> None:
    response = await call(client, method, path, token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == INVALID
    # The challenge never echoes the credential.
    assert token not in response.headers["www-authenticate"]


async def test_a_revoked_session_token_is_an_invalid_token(
    client: httpx.AsyncClient, live: LiveApp
) -> None:
    user = await live.user()
    assert (await call(client, "GET", "/v1/chats", user.access_token)).status_code == 200

    async def revoke() -> None:
        async with live.ctx.open_services() as services:
            await services.accounts.logout_everywhere(user.id)

    await live.call(revoke)
    response = await call(client, "GET", "/v1/chats", user.access_token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID


async def test_a_refused_session_cookie_is_not_called_a_bearer_token(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set("pm_session", FORGED)
    response = await client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE


async def test_the_google_token_check_says_invalid_token(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/auth/validate", FORGED)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID


async def test_a_wrong_password_is_challenged(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/signin", json={"email": "nobody@example.com", "password": "whatever-123"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE


async def test_a_key_without_the_scope_is_told_so(client: httpx.AsyncClient, live: LiveApp) -> None:
    user = await live.user(scopes=["models"])
    response = await call(client, "GET", "/switchboard/v1/jobs", user.api_key)
    assert response.status_code == 403, response.text
    assert response.headers["www-authenticate"] == (
        'Bearer realm="switchboard", error="insufficient_scope"'
    )


async def test_other_errors_carry_no_challenge(client: httpx.AsyncClient, live: LiveApp) -> None:
    user = await live.user()
    missing = await call(
        client, "GET", "/switchboard/v1/jobs/00000000-0000-0000-0000-000000000000", user.api_key
    )
    assert missing.status_code == 404
    assert "www-authenticate" not in missing.headers
