"""Issue 11 item 15: forwarding headers are believed from SWITCHBOARD_TRUSTED_PROXIES only;
then per-IP limits key on the real client and cookies follow the client's scheme."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from switchboard.api.middleware import TrustedProxyMiddleware
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.jwks_fake import FakeGoogle, google, jwks_server

__all__ = ["google", "jwks_server"]

PROXY = "10.0.0.1"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HarnessFactory = Callable[..., Awaitable[Harness]]


def from_peer(harness: Harness, host: str) -> httpx.AsyncClient:
    """A client whose connection comes from `host` (a proxy, or a client talking directly)."""
    transport = httpx.ASGITransport(app=harness.app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def seen_scope(
    trusted: list[str], peer: str, headers: dict[str, str], kind: str = "http"
) -> Scope:
    """The scope the app behind the middleware gets."""
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(scope)

    scope = {
        "type": kind,
        "scheme": "http" if kind == "http" else "ws",
        "client": (peer, 5555),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    await TrustedProxyMiddleware(app, trusted=trusted)(scope, _never, _never)
    return seen


async def _never(*_: Any) -> Any:
    raise AssertionError("not used")


class TestForwardingHeaders:
    async def test_a_trusted_proxy_names_the_client_and_scheme(self) -> None:
        headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        scope = await seen_scope([PROXY], PROXY, headers)
        assert scope["client"] == ("203.0.113.7", 0)
        assert scope["scheme"] == "https"

    async def test_anyone_else_is_not_believed(self) -> None:
        headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        scope = await seen_scope([PROXY], "198.51.100.4", headers)
        assert scope["client"] == ("198.51.100.4", 5555)
        assert scope["scheme"] == "http"

    async def test_nobody_is_trusted_by_default(self, harness: Harness) -> None:
        assert harness.settings.trusted_proxies == []
        classes = [getattr(m, "cls", None) for m in harness.app.user_middleware]
        assert TrustedProxyMiddleware not in classes

    async def test_the_nearest_untrusted_hop_is_the_client(self) -> None:
        # The client wrote "1.2.3.4" itself; our proxies appended the rest.
        chain = {"X-Forwarded-For": "1.2.3.4, 203.0.113.7, 10.0.0.2"}
        scope = await seen_scope(["10.0.0.0/24"], PROXY, chain)
        assert scope["client"] == ("203.0.113.7", 0)

    async def test_a_chain_of_trusted_hops_ends_at_its_first(self) -> None:
        scope = await seen_scope(["10.0.0.0/24"], PROXY, {"X-Forwarded-For": "10.0.0.9, 10.0.0.2"})
        assert scope["client"] == ("10.0.0.9", 0)

    async def test_a_garbled_chain_is_not_believed(self) -> None:
        scope = await seen_scope([PROXY], PROXY, {"X-Forwarded-For": "203.0.113.7, nonsense"})
        assert scope["client"] == (PROXY, 5555)

    async def test_websockets_get_wss(self) -> None:
        scope = await seen_scope([PROXY], PROXY, {"X-Forwarded-Proto": "https"}, kind="websocket")
        assert scope["scheme"] == "wss"

    async def test_an_ipv4_mapped_peer_matches_its_ipv4_entry(self) -> None:
        scope = await seen_scope([PROXY], f"::ffff:{PROXY}", {"X-Forwarded-For": "203.0.113.7"})
        assert scope["client"] == ("203.0.113.7", 0)

    def test_an_entry_that_is_no_address_stops_start_up(self) -> None:
        with pytest.raises(ValueError, match=re.escape("10.0.0.0/33")):
            TrustedProxyMiddleware(_never, trusted=["10.0.0.0/33"])


class TestBehindTheProxy:
    async def test_per_ip_limits_key_on_the_real_client(
        self, harness_factory: HarnessFactory, google: FakeGoogle
    ) -> None:
        # Before: every client behind the proxy shared the proxy's bucket.
        harness = await harness_factory(
            **google.settings, pluginmind_rate_limit="2/minute", trusted_proxies=[PROXY]
        )
        bad = {"id_token": "not-a-token"}

        async def sign_in(proxy: httpx.AsyncClient, client: str) -> int:
            headers = {"X-Forwarded-For": client}
            return (await proxy.post("/auth/google", json=bad, headers=headers)).status_code

        async with from_peer(harness, PROXY) as proxy:
            first = [await sign_in(proxy, "203.0.113.7") for _ in range(3)]
            other = await sign_in(proxy, "203.0.113.8")
        assert 429 not in first[:2] and first[2] == 429
        assert other != 429

    async def test_forged_addresses_from_an_untrusted_peer_share_its_bucket(
        self, harness_factory: HarnessFactory, google: FakeGoogle
    ) -> None:
        harness = await harness_factory(
            **google.settings, pluginmind_rate_limit="2/minute", trusted_proxies=[PROXY]
        )
        async with from_peer(harness, "198.51.100.4") as client:
            statuses = [
                (
                    await client.post(
                        "/auth/google",
                        json={"id_token": "x"},
                        headers={"X-Forwarded-For": f"203.0.113.{i}"},
                    )
                ).status_code
                for i in range(3)
            ]
        assert statuses[2] == 429

    @pytest.mark.parametrize(("peer", "secure"), [(PROXY, True), ("198.51.100.4", False)])
    async def test_the_session_cookie_is_secure_when_the_client_used_https(
        self, harness_factory: HarnessFactory, google: FakeGoogle, peer: str, secure: bool
    ) -> None:
        harness = await harness_factory(**google.settings, trusted_proxies=[PROXY])
        headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        async with from_peer(harness, peer) as client:
            response = await client.post(
                "/auth/google", json={"id_token": google.sign("ada@example.com")}, headers=headers
            )
        assert response.status_code == 200, response.text
        assert ("Secure" in response.headers["set-cookie"]) is secure


class TestShippedDeployment:
    def test_nginx_sends_the_forwarding_headers(self) -> None:
        conf = (DEPLOY / "nginx.conf").read_text()
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf

    def test_the_replicas_trust_the_proxy_alone(self) -> None:
        # Read as text: the replicas share one environment block (a YAML anchor).
        compose = (DEPLOY / "compose.yaml").read_text()
        proxy = re.search(r"ipv4_address: ([0-9.]+)", compose)
        trusted = re.findall(r"SWITCHBOARD_TRUSTED_PROXIES: (\S+)", compose)
        assert proxy is not None
        assert trusted == [proxy.group(1)]
