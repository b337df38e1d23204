"""Paths two faces share answer both clients at once."""

from __future__ import annotations

import pytest

from switchboard.api.shared_paths import SharedFragment
from switchboard.registry import FACES
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


SHARED = [(name, fragment) for name, (spec, _) in FACES.items() for fragment in spec.shared]


@pytest.mark.parametrize(
    ("face", "fragment"), SHARED, ids=[f"{name}:{f.path}" for name, f in SHARED]
)
async def test_every_face_fragment_reaches_its_clients(
    harness: Harness, face: str, fragment: SharedFragment
) -> None:
    # Every registered face's contribution to a shared path is in the merged answer.
    headers = (await harness.user("shared@example.com")).headers if fragment.chain else {}
    response = await harness.client.get(fragment.path, headers=headers)
    assert response.status_code == 200, (face, fragment.path, response.text)
    assert fragment.keys <= set(response.json()), face


def test_the_enumeration_covers_the_faces_that_share_paths() -> None:
    # The enumeration above is not empty: the faces that share paths are in it.
    assert {name for name, _ in SHARED} >= {"openai", "pocketllm", "pluginmind"}
