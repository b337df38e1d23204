"""The document's Auth0 bearer JWTs: with the operator's tenant configured
(`SWITCHBOARD_OIDC_*`), its access token signs its subject in on this face."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest

from tests.faces.cloudtolocalllm.conftest import error_of
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.jwks_fake import CERTS_PATH, GoogleKeys, keys_of, tenant_server

__all__ = ["tenant_server"]

HarnessFactory = Callable[..., Awaitable[Harness]]
TENANT = "https://cloudtolocalllm.auth0.test/"
AUDIENCE = "cloudtolocalllm-api"
DETAILED = "/api/health/detailed"


@pytest.fixture
async def harness(harness_factory: HarnessFactory, tenant_server: FakeUpstream) -> Harness:
    return await harness_factory(
        oidc_issuer=TENANT,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=tenant_server.url + CERTS_PATH,
    )


def token(keys: GoogleKeys, **claims: Any) -> str:
    """An RS256 access token of the tenant, as the document describes it."""
    kid = keys.served[0]
    now = int(time.time())
    payload = {"iss": TENANT, "aud": AUDIENCE, "sub": "auth0|ada", "iat": now, "exp": now + 600}
    return jwt.encode(
        {**payload, **claims}, keys.keys[kid], algorithm="RS256", headers={"kid": kid}
    )


async def test_a_tenant_token_is_a_signed_in_user(
    harness: Harness, tenant_server: FakeUpstream
) -> None:
    headers = {"Authorization": f"Bearer {token(keys_of(tenant_server))}"}

    response = await harness.client.get(DETAILED, headers=headers)

    # Signed in (not a 401), as an account of its own, which is no administrator.
    error_of(response, 403, "forbidden")


async def test_an_expired_tenant_token_is_unauthorized(
    harness: Harness, tenant_server: FakeUpstream
) -> None:
    expired = token(keys_of(tenant_server), iat=1_000_000, exp=1_000_600)

    response = await harness.client.get(DETAILED, headers={"Authorization": f"Bearer {expired}"})

    error_of(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
