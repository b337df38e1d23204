"""Issue 11 #23: activating a provider whose catalogue trickles a byte at a time answered
nothing for 45 s; every whole outbound call now ends at its deadline.

The deadline comes from configuration (`SWITCHBOARD_UPSTREAM_TIMEOUT_SECONDS`), small
here; the trickling server never finishes its body, so only a deadline ends the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.adapters.providers.trickle import serve_trickle
from tests.faces.pocketllm.conftest import error_of, sign_up_and_in
from tests.fixtures.app import Harness

GUARD = 15.0  # far beyond the deadline; without one the request would run until here


async def test_activation_against_a_trickling_catalogue_fails_at_the_deadline(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(allow_private_upstreams=True, upstream_timeout_seconds=0.5)
    alice = await sign_up_and_in(harness.client, "alice@example.com")

    async with serve_trickle() as trickle, asyncio.timeout(GUARD):
        response = await harness.client.post(
            "/v1/providers/activate",
            headers=alice.headers,
            json={"provider": "openai", "apiKey": "sk-test-000000000000", "baseUrl": trickle.url},
        )

    assert trickle.requests == 1
    assert "in time" in error_of(response, 504)
    listed = await harness.client.get("/v1/providers", headers=alice.headers)
    assert listed.json()["data"] == []
