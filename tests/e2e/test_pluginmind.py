"""PluginMind end to end: a real server process signs a user in with a locally signed
Google token (JWKS from a loopback server), runs every analysis type against the fake
OpenAI upstream as the operator's provider, and an async analysis survives a restart of
the server in the middle of its job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.upstreams.jwks_fake import FakeGoogle, google, jwks_server
from tests.fixtures.waiting import wait_until

__all__ = ["google", "jwks_server"]

pytestmark = pytest.mark.e2e

TYPES = ["document", "chat", "seo", "crypto", "custom"]


def serve(data_dir: Path, database_url: str, env: dict[str, str]) -> LiveServer:
    return start_server(data_dir, database_url, env)


def poll(client: httpx.Client, job_id: str, until: set[str], timeout: float) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/analyze-async/{job_id}").json()
        return body if body.get("status") in until else None

    return wait_until(settled, timeout=timeout, what=f"job {job_id} in {sorted(until)}")


def test_pluginmind_end_to_end(
    tmp_path: Path,
    engine: AsyncEngine,
    google: FakeGoogle,
    openai_upstream: FakeUpstream,
) -> None:
    database_url = engine.url.render_as_string(hide_password=False)
    env = {
        **google.env,
        "OPENAI_API_KEY": OPENAI_TEST_KEY,
        "OPENAI_BASE_URL": openai_upstream.url + "/v1",
        # Run jobs in this server even when Redis is configured, and hand a running job
        # back quickly at shutdown.
        "SWITCHBOARD_JOBS_IN_PROCESS": "on",
        "SWITCHBOARD_JOB_SHUTDOWN_GRACE_SECONDS": "0.5",
        "SWITCHBOARD_JOB_SWEEP_INTERVAL_SECONDS": "0.5",
        "SWITCHBOARD_REDIS_PREFIX": f"switchboard:e2e-pm:{tmp_path.name}",
    }
    data_dir = tmp_path / "data"
    server = serve(data_dir, database_url, env)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            # Sign in with a token signed here, verified against the loopback JWKS.
            signed = client.post("/auth/google", json={"id_token": google.sign("e2e@example.com")})
            assert signed.status_code == 200, signed.text
            assert "pm_session" in client.cookies
            assert client.get("/me").json()["email"] == "e2e@example.com"

            for analysis_type in TYPES:
                response = client.post(
                    "/process",
                    json={"user_input": f"{analysis_type} please", "analysis_type": analysis_type},
                )
                assert response.status_code == 200, response.text
                body = response.json()
                assert body["services_used"]["analyzer"]["provider"] == "openai"
                assert body["analysis_result"].startswith("Fake reply to:")
            chats = [r for r in openai_upstream.requests if r.path.endswith("/chat/completions")]
            assert len(chats) == 2 * len(TYPES)
            assert client.get("/me/usage").json()["queries_used"] == len(TYPES)

            # A quick async analysis.
            job_id = client.post(
                "/analyze-async", json={"user_input": "async one", "analysis_type": "seo"}
            ).json()["job_id"]
            done = poll(client, job_id, {"completed", "failed"}, timeout=20)
            assert done["status"] == "completed", done

            # A slow one: the server stops while its job is calling the provider.
            openai_upstream.fail(delay=5, path_contains="chat/completions")
            slow_id = client.post(
                "/analyze-async", json={"user_input": "survive a restart", "analysis_type": "chat"}
            ).json()["job_id"]
            poll(client, slow_id, {"processing"}, timeout=10)
            cookies = dict(client.cookies)
        stop_server(server)
        server = serve(data_dir, database_url, env)
        with httpx.Client(base_url=server.url, timeout=30, cookies=cookies) as client:
            done = poll(client, slow_id, {"completed", "failed"}, timeout=30)
            assert done["status"] == "completed", done
            assert "survive a restart" in done["analysis"]
            jobs = client.get("/jobs").json()
            assert jobs["total_jobs"] == 2
            logs = client.get("/query-logs").json()["logs"]
            assert len(logs) == len(TYPES) + 2
            assert all(log["success"] for log in logs)
    finally:
        stop_server(server)
