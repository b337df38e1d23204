"""Paths two faces share answer both clients at once."""

from __future__ import annotations

from tests.fixtures.app import Harness


async def test_root_serves_pluginmind_and_pocketllm_fields(harness: Harness) -> None:
    body = (await harness.client.get("/")).json()
    # PluginMind's frontend reads these.
    assert {"name", "version", "description", "features", "health"} <= set(body)
    assert body["health"] == "/health"
    # PocketLLM's client reads the active docs path.
    assert body["docs"] == "/docs"
    assert (await harness.client.get(body["docs"])).status_code == 200


async def test_docs_can_be_switched_off(harness_factory) -> None:  # type: ignore[no-untyped-def]
    harness = await harness_factory(enable_swagger_docs=False)
    assert (await harness.client.get("/")).json()["docs"] is None
    assert (await harness.client.get("/docs")).status_code == 404
    assert (await harness.client.get("/api/docs")).status_code == 404
