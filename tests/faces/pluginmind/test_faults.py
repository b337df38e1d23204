"""Bad input and faults: hostile Google tokens, foreign cookies, a JWKS outage, a provider
that is down (502 `AI_SERVICE_ERROR`, and the query still in the logs)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest

from switchboard.core.accounts.tokens import TokenSigner
from tests.faces.pluginmind.conftest import PM, wait_for_job
from tests.faces.pluginmind.golden import assert_golden
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.upstreams.jwks_fake import new_rsa_key

pytestmark = pytest.mark.asyncio


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any], kid: str) -> str:
    """`alg: none`, the classic forgery."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}."


class TestHostileGoogleTokens:
    @pytest.mark.parametrize(
        "case",
        [
            "forged_signature",
            "unknown_key",
            "expired",
            "wrong_audience",
            "wrong_issuer",
            "alg_none",
            "hs256_with_public_key",
            "email_unverified",
            "no_email",
            "garbage",
        ],
    )
    async def test_refused_with_401_in_the_envelope(self, pm: PM, case: str) -> None:
        keys = pm.google.keys
        kid = keys.served[0]
        now = int(time.time())
        token: str
        if case == "forged_signature":
            # The published key id, signed with someone else's key.
            token = jwt.encode(
                keys.claims(), new_rsa_key(), algorithm="RS256", headers={"kid": kid}
            )
        elif case == "unknown_key":
            token = keys.sign(kid=keys.add(publish=False))
        elif case == "expired":
            token = keys.sign(iat=now - 7200, exp=now - 3600)
        elif case == "wrong_audience":
            token = keys.sign(aud="someone-else.apps.googleusercontent.com")
        elif case == "wrong_issuer":
            token = keys.sign(iss="https://evil.example.com")
        elif case == "alg_none":
            token = unsigned_token(keys.claims(), kid)
        elif case == "hs256_with_public_key":
            public = pm.google.keys.jwks()["keys"][0]["n"]
            token = jwt.encode(keys.claims(), public, algorithm="HS256", headers={"kid": kid})
        elif case == "email_unverified":
            token = keys.sign(email_verified=False)
        elif case == "no_email":
            token = jwt.encode(
                {k: v for k, v in keys.claims().items() if k != "email"},
                keys.keys[kid],
                algorithm="RS256",
                headers={"kid": kid},
            )
        else:
            token = "not.a.jwt"
        response = await pm.client.post("/auth/google", json={"id_token": token})
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "AUTHENTICATION_FAILED"
        assert "set-cookie" not in response.headers
        validate = await pm.client.get(
            "/auth/validate", headers={"Authorization": f"Bearer {token}"}
        )
        assert validate.status_code == 401

    async def test_golden_of_a_refused_token(self, pm: PM) -> None:
        now = int(time.time())
        response = await pm.client.post(
            "/auth/google", json={"id_token": pm.google.keys.sign(iat=now - 7200, exp=now - 60)}
        )
        assert_golden("auth_google_expired", response)

    async def test_rotated_keys_are_fetched_again(self, pm: PM) -> None:
        await pm.sign_in()
        new_kid = pm.google.keys.add()
        # The cached set lacks the new kid; a refetch is allowed after MIN_REFETCH_SECONDS,
        # so a fresh verifier state is simulated by a long-enough gap.
        verifier = pm.harness.ctx.google
        verifier._fetched_at = (verifier._fetched_at or 0) - 60
        response = await pm.client.post(
            "/auth/google", json={"id_token": pm.google.keys.sign("bob@example.com", kid=new_kid)}
        )
        assert response.status_code == 200

    async def test_jwks_outage_is_503(self, pm: PM) -> None:
        pm.google.upstream.fail(status=500)
        response = await pm.client.post("/auth/google", json={"id_token": pm.google.sign()})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"

    async def test_keys_are_cached(self, pm: PM) -> None:
        for email in ("a@example.com", "b@example.com", "c@example.com"):
            await pm.sign_in(email, client=pm.new_client())
        assert len(pm.google.upstream.requests) == 1

    async def test_unconfigured_google_refuses(self, pm_factory) -> None:  # type: ignore[no-untyped-def]
        pm = await pm_factory(google_client_id=None)
        response = await pm.client.post("/auth/google", json={"id_token": pm.google.sign()})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "AUTHENTICATION_FAILED"


class TestForeignCookies:
    async def test_cookie_from_another_deployment_is_401(self, pm: PM) -> None:
        real = (await pm.sign_in()).json()["user"]
        other = TokenSigner(["another-deployment-secret-0123456789abcdef"], ttl_seconds=3600)
        forged = other.issue(user_id=real["id"], session_id=real["id"], token_version=0).token
        async with pm.new_client() as browser:
            browser.cookies.set("pm_session", forged)
            response = await browser.get("/me")
        assert_golden("foreign_cookie", response)

    async def test_tampered_cookie_is_401(self, pm: PM) -> None:
        token = (await pm.sign_in()).cookies["pm_session"]
        async with pm.new_client() as browser:
            browser.cookies.set("pm_session", token[:-3] + "AAA")
            response = await browser.get("/me/usage")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Invalid session token"


class TestProviderDown:
    async def test_502_and_the_query_is_kept(
        self,
        pm_factory: Callable[..., Awaitable[PM]],
        openai_upstream: FakeUpstream,
    ) -> None:
        pm = await pm_factory(
            openai_api_key=OPENAI_TEST_KEY, openai_base_url=openai_upstream.url + "/v1"
        )
        await pm.sign_in()
        for _ in range(3):
            openai_upstream.fail(status=500)
        response = await pm.client.post("/process", json={"user_input": "will fail"})
        assert_golden("provider_down", response)
        logs = (await pm.client.get("/query-logs")).json()["logs"]
        assert len(logs) == 1
        assert logs[0]["success"] is False
        assert logs[0]["user_input"] == "will fail"
        assert logs[0]["error_message"]
        # The query counted, as in PluginMind (counted when the call is made).
        assert (await pm.client.get("/me/usage")).json()["queries_used"] == 1

    async def test_provider_rate_limit_is_429(
        self,
        pm_factory: Callable[..., Awaitable[PM]],
        openai_upstream: FakeUpstream,
    ) -> None:
        pm = await pm_factory(
            openai_api_key=OPENAI_TEST_KEY, openai_base_url=openai_upstream.url + "/v1"
        )
        await pm.sign_in()
        openai_upstream.fail(status=429, retry_after=7)
        response = await pm.client.post("/process", json={"user_input": "x"})
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"

    async def test_async_failure_reports_the_error(
        self,
        pm_factory: Callable[..., Awaitable[PM]],
        openai_upstream: FakeUpstream,
    ) -> None:
        pm = await pm_factory(
            openai_api_key=OPENAI_TEST_KEY,
            openai_base_url=openai_upstream.url + "/v1",
            job_retry_base_seconds=0,
            job_retry_max_seconds=0,
        )
        await pm.sign_in()
        for _ in range(10):
            openai_upstream.fail(status=500)
        job_id = (await pm.client.post("/analyze-async", json={"user_input": "x"})).json()["job_id"]
        body = await wait_for_job(pm.client, job_id)
        assert body["status"] == "failed"
        assert body["error"] == "AI service is unavailable. Please try again later."
        logs = (await pm.client.get("/query-logs")).json()["logs"]
        assert [log["success"] for log in logs] == [False]
