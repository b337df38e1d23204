"""Issue 11 items 19 and 20: `/metrics` is not open to anyone, and redirects never name
the host the client claimed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.fixtures.app import Harness

HarnessFactory = Callable[..., Awaitable[Harness]]
TOKEN = "metrics-token-0123456789"


def from_peer(harness: Harness, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=harness.app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


class TestMetricsWithoutAToken:
    async def test_a_client_on_this_host_reads_them(self, harness: Harness) -> None:
        response = await harness.client.get("/metrics")  # the test client is 127.0.0.1
        assert response.status_code == 200
        assert "switchboard_http_requests_total" in response.text

    async def test_a_remote_client_is_refused(self, harness: Harness) -> None:
        async with from_peer(harness, "203.0.113.7") as client:
            response = await client.get("/metrics")
        assert response.status_code == 403
        assert "switchboard_http_requests_total" not in response.text

    @pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Real-IP", "Forwarded"])
    async def test_a_forwarded_request_is_refused_even_from_loopback(
        self, harness: Harness, header: str
    ) -> None:
        # A proxy on this host forwards for clients that are not local.
        response = await harness.client.get("/metrics", headers={header: "203.0.113.7"})
        assert response.status_code == 403

    async def test_an_empty_token_is_no_token(self, harness_factory: HarnessFactory) -> None:
        harness = await harness_factory(metrics_token="")
        async with from_peer(harness, "203.0.113.7") as client:
            response = await client.get("/metrics", headers={"Authorization": "Bearer "})
        assert response.status_code == 403

    async def test_a_trusted_proxy_cannot_forward_a_loopback_address(
        self, harness_factory: HarnessFactory
    ) -> None:
        harness = await harness_factory(trusted_proxies=["10.0.0.1"])
        async with from_peer(harness, "10.0.0.1") as proxy:
            response = await proxy.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert response.status_code == 403


class TestMetricsWithAToken:
    @pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
    async def test_no_valid_token_no_metrics_even_from_loopback(
        self, harness_factory: HarnessFactory, header: str | None
    ) -> None:
        harness = await harness_factory(metrics_token=TOKEN)
        headers = {"Authorization": header} if header else {}
        response = await harness.client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in response.text

    async def test_the_token_opens_them_from_anywhere(
        self, harness_factory: HarnessFactory
    ) -> None:
        harness = await harness_factory(metrics_token=TOKEN)
        async with from_peer(harness, "203.0.113.7") as client:
            response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert "switchboard_http_requests_total" in response.text


class TestRedirects:
    @pytest.mark.parametrize(
        ("path", "location"),
        [("/v1/models/", "/v1/models"), ("/v1/models/?a=1&b=%20", "/v1/models?a=1&b=%20")],
    )
    async def test_the_trailing_slash_redirect_is_relative(
        self, harness: Harness, path: str, location: str
    ) -> None:
        response = await harness.client.get(path, headers={"Host": "evil.example.com"})
        assert response.status_code == 307
        assert response.headers["location"] == location

    async def test_a_path_no_route_answers_is_still_not_found(self, harness: Harness) -> None:
        response = await harness.client.get("/no/such/path/", headers={"Host": "evil.example.com"})
        assert response.status_code == 404
        assert "evil.example.com" not in response.text
