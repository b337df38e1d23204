"""Issue 11 #1: a client cannot make its own provider connection trusted.

The attack: PocketLLM's `metadata` was merged into the settings that held the trust flag
(`private_ok`), so a user marked their connection trusted, pointed it at a name they
control, then rebound that name to a loopback address and read what a non-exempt
loopback port answered. Here the name is answered by a resolver the test flips, and the
"internal service" is the fake OpenAI server on loopback, reachable only through the
one exempted name (`exempt.test:<port>`), as an operator would allow a LAN server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.factory import DefaultProviderFactory
from tests.faces.pocketllm.conftest import Account, data_of, error_of, sign_up_and_in
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

PUBLIC_IP = "93.184.216.34"


class FlippingResolver:
    """Answers names from a table the test changes: DNS rebinding on demand."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}

    async def __call__(self, host: str, port: int) -> list[str]:
        answers = self.answers.get(host)
        if answers is None:
            raise OSError(f"no such host {host!r}")
        return list(answers)


@pytest.fixture
async def dns(harness: Harness, openai_upstream: FakeUpstream) -> AsyncIterator[FlippingResolver]:
    """The harness's providers dial through `FlippingResolver`, one name exempted."""
    resolver = FlippingResolver()
    resolver.answers["exempt.test"] = ["127.0.0.1"]
    port = urlsplit(openai_upstream.url).port
    clients = OutboundClients(exemptions=[f"exempt.test:{port}"], resolve=resolver)
    factory = DefaultProviderFactory(clients, timeout=5.0, connect_timeout=2.0)
    original = harness.ctx.providers
    harness.ctx.providers = dataclasses.replace(original, factory=factory)
    yield resolver
    harness.ctx.providers = original
    await factory.aclose()


@pytest.fixture
async def alice(harness: Harness) -> Account:
    return await sign_up_and_in(harness.client, "alice@example.com")


def _url(upstream: FakeUpstream, host: str) -> str:
    return f"http://{host}:{urlsplit(upstream.url).port}/v1"


class TestClientMetadataCannotGrantTrust:
    async def test_activate_with_a_reserved_key_is_refused_and_stores_nothing(
        self, harness: Harness, alice: Account, dns: FlippingResolver, openai_upstream: FakeUpstream
    ) -> None:
        response = await harness.client.post(
            "/v1/providers/activate",
            headers=alice.headers,
            json={
                "provider": "openai",
                "apiKey": OPENAI_TEST_KEY,
                "baseUrl": _url(openai_upstream, "exempt.test"),
                "metadata": {"private_ok": True},
            },
        )

        assert "private_ok" in error_of(response, 400)
        assert data_of(await harness.client.get("/v1/providers", headers=alice.headers)) == []
        assert openai_upstream.requests == []  # refused before the live test

    async def test_patch_with_a_reserved_key_is_refused(
        self, harness: Harness, alice: Account, dns: FlippingResolver, openai_upstream: FakeUpstream
    ) -> None:
        await self._activate_exempt(harness, alice, openai_upstream)

        response = await harness.client.patch(
            "/v1/providers/openai",
            headers=alice.headers,
            json={"metadata": {"private_ok": True, "note": "mine"}},
        )

        assert "private_ok" in error_of(response, 400)
        listed = data_of(await harness.client.get("/v1/providers", headers=alice.headers))
        assert listed[0]["metadata"] == {"note": "lab server"}  # unchanged

    async def test_rebinding_to_a_non_exempt_loopback_port_is_not_reached(
        self, harness: Harness, alice: Account, dns: FlippingResolver, openai_upstream: FakeUpstream
    ) -> None:
        await self._activate_exempt(harness, alice, openai_upstream)
        # The attacker tries to mark the connection trusted, then moves it to their name.
        await harness.client.patch(
            "/v1/providers/openai",
            headers=alice.headers,
            json={"metadata": {"private_ok": True}},
        )
        dns.answers["attacker.test"] = [PUBLIC_IP]
        moved = await harness.client.patch(
            "/v1/providers/openai",
            headers=alice.headers,
            json={"baseUrl": _url(openai_upstream, "attacker.test"), "apiKey": OPENAI_TEST_KEY},
        )
        assert data_of(moved)["base_url"] == _url(openai_upstream, "attacker.test")
        dns.answers["attacker.test"] = ["127.0.0.1"]  # rebound
        seen = len(openai_upstream.requests)

        response = await harness.client.get("/v1/providers/openai/models", headers=alice.headers)

        assert len(openai_upstream.requests) == seen
        assert "fake-model" not in response.text

    async def _activate_exempt(
        self, harness: Harness, alice: Account, upstream: FakeUpstream
    ) -> None:
        response = await harness.client.post(
            "/v1/providers/activate",
            headers=alice.headers,
            json={
                "provider": "openai",
                "apiKey": OPENAI_TEST_KEY,
                "baseUrl": _url(upstream, "exempt.test"),
                "metadata": {"note": "lab server"},
            },
        )
        assert data_of(response)["metadata"] == {"note": "lab server"}
