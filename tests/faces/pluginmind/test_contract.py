"""Contract: every PluginMind endpoint answers in the shapes of its document and of the
original backend (PluginMind's API document), with goldens transcribed from it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.faces.pluginmind.conftest import PM, wait_for_job
from tests.faces.pluginmind.golden import assert_golden

pytestmark = pytest.mark.asyncio


class TestAnalysis:
    @pytest.mark.parametrize("analysis_type", ["document", "chat", "seo", "crypto", "custom"])
    async def test_process_each_type(self, pm: PM, analysis_type: str) -> None:
        await pm.sign_in()
        response = await pm.client.post(
            "/process", json={"user_input": "  Is BTC a buy?  ", "analysis_type": analysis_type}
        )
        assert_golden(f"process_{analysis_type}", response)
        body = response.json()
        assert body["analysis_type"] == analysis_type
        assert "Is BTC a buy?" in body["optimized_prompt"]
        assert body["services_used"]["analyzer"]["name"] == f"{analysis_type}_analyzer"

    async def test_process_defaults_to_crypto_and_null_means_custom(self, pm: PM) -> None:
        await pm.sign_in()
        missing = await pm.client.post("/process", json={"user_input": "x"})
        null = await pm.client.post("/process", json={"user_input": "x", "analysis_type": None})
        assert missing.json()["analysis_type"] == "crypto"
        assert null.json()["analysis_type"] == "custom"

    async def test_legacy_analyze(self, pm: PM) -> None:
        await pm.sign_in()
        response = await pm.client.post("/analyze", json={"user_input": "ETH outlook"})
        assert_golden("analyze_legacy", response)

    @pytest.mark.parametrize(
        ("name", "payload"),
        [
            ("unknown_type", {"user_input": "x", "analysis_type": "poetry"}),
            ("blank_input", {"user_input": "   "}),
            ("too_long", {"user_input": "x" * 5001}),
            ("missing_input", {"analysis_type": "chat"}),
            ("extra_field", {"user_input": "x", "bypass_quota": True}),
        ],
    )
    async def test_bad_bodies_are_422(self, pm: PM, name: str, payload: dict[str, Any]) -> None:
        await pm.sign_in()
        response = await pm.client.post("/process", json=payload)
        assert_golden("process_422", response)

    async def test_not_json_is_422(self, pm: PM) -> None:
        await pm.sign_in()
        response = await pm.client.post(
            "/process", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "INVALID_INPUT"

    async def test_requires_a_session(self, pm: PM) -> None:
        for method, path in [
            ("POST", "/process"),
            ("POST", "/analyze"),
            ("POST", "/analyze-async"),
            ("GET", "/analyze-async/6a1c8f8e-0000-4000-8000-000000000000"),
            ("GET", "/jobs"),
            ("DELETE", "/jobs/6a1c8f8e-0000-4000-8000-000000000000"),
            ("GET", "/query-logs"),
            ("GET", "/me"),
            ("GET", "/me/usage"),
            ("GET", "/users/profile"),
            ("GET", "/auth/me"),
            ("POST", "/auth/logout"),
        ]:
            response = await pm.client.request(method, path, json={"user_input": "x"})
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"]["code"] == "HTTP_EXCEPTION"
        assert_golden("unauthenticated", response)


class TestQuota:
    async def test_quota_counts_and_refuses_with_429(self, pm_factory) -> None:  # type: ignore[no-untyped-def]
        pm = await pm_factory(default_monthly_quota=2)
        await pm.sign_in()
        first = await pm.client.post("/process", json={"user_input": "a"})
        second = await pm.client.post("/analyze", json={"user_input": "b"})
        third = await pm.client.post("/process", json={"user_input": "c"})
        assert [first.status_code, second.status_code, third.status_code] == [200, 200, 429]
        assert_golden("quota_exceeded", third)
        assert int(third.headers["retry-after"]) >= 1
        usage = await pm.client.get("/me/usage")
        assert_golden("usage_exhausted", usage)
        # The async path counts too, and refuses before creating a job.
        refused = await pm.client.post("/analyze-async", json={"user_input": "d"})
        assert refused.status_code == 429
        assert (await pm.client.get("/jobs")).json()["total_jobs"] == 0


class TestAsync:
    async def test_async_analysis_lifecycle(self, pm: PM) -> None:
        await pm.sign_in()
        created = await pm.client.post(
            "/analyze-async", json={"user_input": "summarize this", "analysis_type": "document"}
        )
        assert_golden("analyze_async_created", created)
        job_id = created.json()["job_id"]
        done = await wait_for_job(pm.client, job_id)
        status = await pm.client.get(f"/analyze-async/{job_id}")
        assert_golden("analyze_async_completed", status)
        assert done["analysis_type"] == "document"
        assert "summarize this" in done["analysis"]
        jobs = await pm.client.get("/jobs")
        assert_golden("jobs_list", jobs)
        assert list(jobs.json()["jobs"]) == [job_id]
        deleted = await pm.client.delete(f"/jobs/{job_id}")
        assert_golden("job_deleted", deleted)
        gone = await pm.client.get(f"/analyze-async/{job_id}")
        assert_golden("job_not_found", gone)
        assert (await pm.client.delete(f"/jobs/{job_id}")).status_code == 404

    async def test_delete_needs_a_uuid(self, pm: PM) -> None:
        await pm.sign_in()
        response = await pm.client.delete("/jobs/not-a-uuid")
        assert_golden("job_delete_not_uuid", response)

    async def test_unknown_job_is_404(self, pm: PM) -> None:
        await pm.sign_in()
        response = await pm.client.get("/analyze-async/whatever")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "JOB_NOT_FOUND"


class TestLogsAndUsers:
    async def test_query_logs_truncate_inputs(self, pm: PM) -> None:
        await pm.sign_in()
        await pm.client.post("/process", json={"user_input": "y" * 150, "analysis_type": "chat"})
        await pm.client.post("/process", json={"user_input": "short", "analysis_type": "seo"})
        response = await pm.client.get("/query-logs")
        assert_golden("query_logs", response)
        logs = response.json()["logs"]
        assert logs[1]["user_input"] == "y" * 100 + "..."
        limited = await pm.client.get("/query-logs", params={"limit": 1})
        assert limited.json()["total_logs"] == 1
        assert (await pm.client.get("/query-logs", params={"limit": 0})).status_code == 422

    async def test_user_endpoints(self, pm: PM) -> None:
        await pm.sign_in()
        assert_golden("me", await pm.client.get("/me"))
        assert_golden("me_usage", await pm.client.get("/me/usage"))
        assert_golden("users_profile", await pm.client.get("/users/profile"))
        assert_golden("auth_me", await pm.client.get("/auth/me"))


class TestAuth:
    async def test_google_sign_in_sets_the_session_cookie(self, pm: PM) -> None:
        response = await pm.sign_in()
        assert_golden("auth_google", response)
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("pm_session=")
        for flag in ("HttpOnly", "Max-Age=86400", "Path=/", "SameSite=lax"):
            assert flag in cookie
        assert "Secure" not in cookie  # plain http here

    async def test_cookie_is_secure_over_https(self, pm: PM) -> None:
        async with httpx.AsyncClient(
            transport=pm.client._transport, base_url="https://testserver"
        ) as client:
            response = await client.post("/auth/google", json={"id_token": pm.google.sign()})
        assert "Secure" in response.headers["set-cookie"]

    async def test_cookie_secure_override(self, pm_factory) -> None:  # type: ignore[no-untyped-def]
        pm = await pm_factory(pluginmind_cookie_secure=True)
        response = await pm.sign_in()
        assert "Secure" in response.headers["set-cookie"]

    async def test_cookie_works_as_bearer_on_other_faces(self, pm: PM) -> None:
        response = await pm.sign_in()
        token = response.cookies["pm_session"]
        chat = await pm.client.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {token}"},
            json={"model": "echo/echo", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert chat.status_code == 200

    async def test_logout_revokes_the_session(self, pm: PM) -> None:
        response = await pm.sign_in()
        token = response.cookies["pm_session"]
        logout = await pm.client.post("/auth/logout")
        assert_golden("auth_logout", logout)
        assert "Max-Age=0" in logout.headers["set-cookie"]
        # The old cookie value no longer works anywhere, even if the browser kept it.
        async with pm.new_client() as browser:
            browser.cookies.set("pm_session", token)
            replay = await browser.get("/me")
        assert replay.status_code == 401
        assert replay.json()["error"]["message"] in ("Session expired", "Invalid session token")

    async def test_validate_takes_a_google_bearer(self, pm: PM) -> None:
        response = await pm.client.get(
            "/auth/validate", headers={"Authorization": f"Bearer {pm.google.sign()}"}
        )
        assert_golden("auth_validate", response)
        missing = await pm.client.get("/auth/validate")
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "AUTHENTICATION_FAILED"

    async def test_same_google_account_same_user(self, pm: PM) -> None:
        first = (await pm.sign_in()).json()["user"]["id"]
        other = pm.new_client()
        second = (await pm.sign_in(client=other)).json()["user"]["id"]
        await other.aclose()
        assert first == second

    async def test_links_an_existing_account_by_email(self, pm: PM) -> None:
        existing = await pm.harness.user("ada@example.com")
        # Google vouches for an example.com address only as that hosted domain's (`hd`).
        token = pm.google.sign("ADA@example.com", hd="example.com")
        signed = (await pm.client.post("/auth/google", json={"id_token": token})).json()["user"]
        assert signed["id"] == existing.id


class TestHealthAndMeta:
    async def test_meta_endpoints(self, pm: PM) -> None:
        assert_golden("health", await pm.client.get("/health"))
        assert_golden("live", await pm.client.get("/live"))
        assert_golden("ready", await pm.client.get("/ready"))
        admin = await pm.harness.user("root@example.com", admin=True)
        assert_golden("services", await pm.client.get("/services", headers=admin.token_headers))
        assert_golden(
            "services_health", await pm.client.get("/services/health", headers=admin.token_headers)
        )
        assert_golden("version", await pm.client.get("/version"))

    async def test_provider_health_is_for_administrators(self, pm: PM) -> None:
        # It probes the operator's providers live: not for anyone who asks.
        user = await pm.harness.user("plain@example.com")
        for path in ("/services", "/services/health"):
            assert (await pm.client.get(path)).status_code == 401
            refused = await pm.client.get(path, headers=user.token_headers)
            assert refused.status_code == 403

    async def test_version_carries_the_git_sha(self, pm_factory) -> None:  # type: ignore[no-untyped-def]
        pm = await pm_factory(git_sha="abc1234")
        assert (await pm.client.get("/version")).json()["git_sha"] == "abc1234"

    async def test_health_counts_active_jobs(self, pm: PM) -> None:
        await pm.sign_in()
        # Stop this process from running jobs so the new one stays pending.
        await pm.harness.ctx.job_runtime.stop()
        await pm.client.post("/analyze-async", json={"user_input": "later"})
        assert (await pm.client.get("/health")).json()["active_jobs"] == 1

    async def test_ready_is_503_with_structured_detail(self, pm_factory) -> None:  # type: ignore[no-untyped-def]
        pm = await pm_factory(analysis_model="nobody/knows")
        response = await pm.client.get("/ready")
        assert_golden("ready_503", response)

    async def test_root_fields(self, pm: PM, pm_factory) -> None:  # type: ignore[no-untyped-def]
        # PluginMind's part of the shared `GET /`; `docs` comes from the app's own part.
        fields = (await pm.client.get("/")).json()
        assert fields["features"] == {
            "ai_service_registry": True,
            "plugin_architecture": True,
            "4d_prompt_engine": True,
        }
        assert fields["docs"] == "/docs" and fields["health"] == "/health"
        no_docs = await pm_factory(enable_swagger_docs=False)
        assert (await no_docs.client.get("/")).json()["docs"] is None


class TestCorrelation:
    async def test_request_id_echoed_and_in_envelope(self, pm: PM) -> None:
        response = await pm.client.get("/me", headers={"X-Request-ID": "frontend-42.a_b"})
        assert response.headers["x-request-id"] == "frontend-42.a_b"
        assert response.json()["error"]["correlation_id"] == "frontend-42.a_b"

    async def test_unsafe_request_id_replaced(self, pm: PM) -> None:
        response = await pm.client.get("/me", headers={"X-Request-ID": "bad id<script>"})
        generated = response.headers["x-request-id"]
        assert generated != "bad id<script>"
        assert response.json()["error"]["correlation_id"] == generated

    async def test_rate_limit_429_with_retry_after(self, pm_factory) -> None:  # type: ignore[no-untyped-def]
        pm = await pm_factory(pluginmind_rate_limit="2/minute")
        await pm.sign_in()
        codes = [(await pm.client.post("/process", json={"user_input": "x"})) for _ in range(3)]
        assert [c.status_code for c in codes] == [200, 200, 429]
        assert_golden("rate_limited", codes[-1])
        assert int(codes[-1].headers["retry-after"]) >= 1
        assert codes[0].headers["x-ratelimit-limit"] == "2"

    async def test_sign_in_rate_limited_per_ip(self, pm_factory) -> None:  # type: ignore[no-untyped-def]
        pm = await pm_factory(pluginmind_rate_limit="1/minute")
        await pm.sign_in()
        again = await pm.client.post("/auth/google", json={"id_token": pm.google.sign()})
        assert again.status_code == 429
        assert again.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert "retry-after" in again.headers

    async def test_oversized_body_is_413(self, pm: PM) -> None:
        await pm.sign_in()
        big = "x" * (pm.harness.settings.max_body_bytes + 10)
        response = await pm.client.post("/process", json={"user_input": big})
        assert_golden("too_large", response)
