"""Fixtures for the PluginMind face: an app wired to the fake Google, signed-in clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fixtures.app import Harness
from tests.fixtures.upstreams.jwks_fake import FakeGoogle, google, jwks_server
from tests.fixtures.waiting import eventually

__all__ = ["google", "jwks_server"]


@dataclass
class PM:
    """A PluginMind test app and helpers to sign users in through `/auth/google`."""

    harness: Harness
    google: FakeGoogle

    @property
    def client(self) -> httpx.AsyncClient:
        return self.harness.client

    def new_client(self) -> httpx.AsyncClient:
        """Another browser: its own cookie jar, same app."""
        return httpx.AsyncClient(
            transport=self.harness.client._transport, base_url="http://testserver"
        )

    async def sign_in(
        self, email: str = "ada@example.com", client: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        """Sign in with a freshly signed Google token; the client keeps the cookie."""
        client = client or self.client
        response = await client.post("/auth/google", json={"id_token": self.google.sign(email)})
        assert response.status_code == 200, response.text
        return response


async def wait_for_job(
    client: httpx.AsyncClient, job_id: str, timeout: float = 10
) -> dict[str, Any]:
    """The body of `GET /analyze-async/{job_id}` once the job has completed or failed."""

    async def finished() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/analyze-async/{job_id}")).json()
        return body if body.get("status") in ("completed", "failed") else None

    return await eventually(finished, timeout=timeout, what=f"analysis job {job_id}")


@pytest.fixture
async def pm_factory(
    harness_factory: Callable[..., Awaitable[Harness]], google: FakeGoogle
) -> Callable[..., Awaitable[PM]]:
    """Start a PluginMind app with setting overrides."""

    async def start(**overrides: Any) -> PM:
        # Jobs run in the app even when the suite runs on Redis (no worker processes here).
        defaults: dict[str, Any] = {**google.settings, "jobs_in_process": "on"}
        harness = await harness_factory(**{**defaults, **overrides})
        return PM(harness, google)

    return start


@pytest.fixture
async def pm(pm_factory: Callable[..., Awaitable[PM]]) -> PM:
    """A PluginMind app on default test settings (echo models, free tier of 10)."""
    return await pm_factory()
