"""`IdToken` (api.oidc): an external issuer's JWT signs its subject in through an auth
chain, beside our own credentials, against a JWKS served by the fake JWKS server."""

# No `from __future__ import annotations`: the test routes below depend on local chains,
# which FastAPI could not resolve from string annotations.
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

import jwt
import pytest
from fastapi import Depends, FastAPI

from switchboard.api.admission import Admit
from switchboard.api.auth import AuthChain, Bearer, Handshake
from switchboard.api.oidc import IdToken
from switchboard.bootstrap import ConfigError, build_issuers
from switchboard.core.accounts.oidc import OIDC
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services
from tests.api.apps import plain_router, principal_body, serve, small_app
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.jwks_fake import (
    CERTS_PATH,
    FakeGoogle,
    GoogleKeys,
    google,
    jwks_server,
    keys_of,
    tenant_server,
)

__all__ = ["google", "jwks_server", "tenant_server"]

TENANT = "https://tenant.example.com/"
AUDIENCE = "https://api.switchboard.test"
CHAIN = AuthChain(IdToken(OIDC), Bearer())


@pytest.fixture
def tenant(tenant_server: FakeUpstream) -> Iterator[GoogleKeys]:
    tenant_server.reset()
    yield keys_of(tenant_server)
    tenant_server.reset()


def tenant_settings(server: FakeUpstream, **overrides: Any) -> dict[str, Any]:
    return {
        "oidc_issuer": TENANT,
        "oidc_audience": AUDIENCE,
        "oidc_jwks_url": server.url + CERTS_PATH,
        **overrides,
    }


def tenant_token(
    keys: GoogleKeys, sub: str = "auth0|ada", *, kid: str | None = None, **claims: Any
) -> str:
    """A tenant access token, RS256: no e-mail unless given (Auth0's carry none)."""
    kid = kid or keys.served[0]
    now = int(time.time())
    payload = {"iss": TENANT, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 600}
    return jwt.encode(
        {**payload, **claims}, keys.keys[kid], algorithm="RS256", headers={"kid": kid}
    )


@pytest.fixture
async def app(
    harness_factory: Callable[..., Awaitable[Harness]],
    tenant_server: FakeUpstream,
    google: FakeGoogle,
) -> FastAPI:
    harness = await harness_factory(**tenant_settings(tenant_server), **google.settings)
    return who_app(harness)


def who_app(harness: Harness, chain: AuthChain = CHAIN) -> FastAPI:
    router = plain_router()

    @router.get("/who", dependencies=[Admit(chain, scope="chat", rule=None)])
    async def who(principal: Annotated[Principal, Depends(chain.require)]) -> dict[str, Any]:
        return principal_body(principal)

    app = small_app(harness, router)
    app.state.harness = harness
    return app


async def who(app: FastAPI, token: str) -> tuple[int, dict[str, Any]]:
    async with serve(app) as client:
        response = await client.get("/who", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def harness_of(app: FastAPI) -> Harness:
    harness: Harness = app.state.harness
    return harness


async def test_a_tenant_token_signs_its_subject_in(app: FastAPI, tenant: GoogleKeys) -> None:
    token = tenant_token(tenant)
    status, body = await who(app, token)
    assert (status, body["auth_method"]) == (200, "id_token")
    again_status, again = await who(app, tenant_token(tenant))
    assert (again_status, again["user_id"]) == (200, body["user_id"])

    subject = await harness_of(app).run(
        lambda s: s.identities.linked_subject(body["user_id"], OIDC)
    )
    assert subject == "auth0|ada"


async def test_our_own_credentials_pass_through(app: FastAPI) -> None:
    user = await harness_of(app).user("a@example.com")
    for token, method in ((user.api_key, "api_key"), (user.access_token, "access_token")):
        status, body = await who(app, token)
        assert (status, body["user_id"], body["auth_method"]) == (200, user.id, method)


async def test_a_forged_tenant_token_is_refused_not_passed_on(
    app: FastAPI, tenant: GoogleKeys
) -> None:
    stranger = tenant.add(publish=False)
    status, body = await who(app, tenant_token(tenant, kid=stranger))
    assert (status, body["error"]["code"]) == (401, "oidc_token_invalid")
    status, body = await who(app, tenant_token(tenant, aud="https://someone-else"))
    assert (status, body["error"]["code"]) == (401, "oidc_token_invalid")


async def test_another_issuers_token_is_not_the_schemes(app: FastAPI, google: FakeGoogle) -> None:
    # A Google ID token: IdToken("oidc") steps aside and Bearer refuses it as not ours.
    status, body = await who(app, google.sign())
    assert status == 401
    assert body["error"]["code"] != "oidc_token_invalid"
    google_chain = who_app(harness_of(app), AuthChain(IdToken("google"), Bearer()))
    status, body = await who(google_chain, google.sign())
    assert (status, body["auth_method"]) == (200, "id_token")


async def test_without_the_tenant_configured_the_scheme_steps_aside(
    harness: Harness, tenant_server: FakeUpstream, tenant: GoogleKeys
) -> None:
    status, body = await who(who_app(harness), tenant_token(tenant))
    assert status == 401
    assert body["error"]["code"] != "oidc_token_invalid"
    assert tenant_server.requests == []


async def test_an_owned_domain_links_the_existing_account(
    harness_factory: Callable[..., Awaitable[Harness]],
    tenant_server: FakeUpstream,
    tenant: GoogleKeys,
) -> None:
    harness = await harness_factory(
        **tenant_settings(tenant_server, oidc_email_domains="example.com")
    )
    existing = await harness.user("ada@example.com")
    app = who_app(harness)
    token = tenant_token(tenant, email="ada@example.com", email_verified=True)
    status, body = await who(app, token)
    assert (status, body["user_id"]) == (200, existing.id)
    stranger = tenant_token(tenant, sub="auth0|bob", email="bob@elsewhere.io", email_verified=True)
    _, other = await who(app, stranger)
    assert other["user_id"] not in (None, existing.id)


async def test_socket_handshakes_take_the_token_from_the_auth_payload(
    app: FastAPI, tenant: GoogleKeys
) -> None:
    scope = {
        "type": "websocket",
        "path": "/socket",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
    }
    handshake = Handshake.from_scope(scope, {"token": tenant_token(tenant)})

    async def work(services: Services) -> Principal | None:
        return await CHAIN.authenticate(handshake, services)

    principal = await harness_of(app).run(work)
    assert principal is not None and principal.auth_method == "id_token"


def test_a_half_configured_tenant_refuses_to_start(
    settings_factory: Callable[..., Any],
) -> None:
    settings = settings_factory(oidc_issuer=TENANT, oidc_audience=AUDIENCE)
    with pytest.raises(ConfigError, match="SWITCHBOARD_OIDC_JWKS_URL"):
        build_issuers(settings, fetcher=None)  # type: ignore[arg-type]
