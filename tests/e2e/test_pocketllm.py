"""A PocketLLM client against a real server: the whole journey of the document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.fixtures.sse import sse_events
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.e2e

PASSWORD = "securepassword123"


@pytest.fixture(scope="module")
def pocketllm_server(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_url: str,
    openai_upstream_server: FakeUpstream,
) -> Iterator[LiveServer]:
    """A server with no operator credentials; users may reach the loopback fake upstream."""
    server = start_server(
        tmp_path_factory.mktemp("pocketllm"),
        migrated_url,
        {
            "SWITCHBOARD_ALLOW_PRIVATE_UPSTREAMS": "true",
            "SWITCHBOARD_JOBS_IN_PROCESS": "on",
            "SWITCHBOARD_FACES": "openai,pocketllm",
        },
    )
    yield server
    stop_server(server)


def data(response: httpx.Response, status: int = 200) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True and body["error"] is None
    assert body["metadata"]["requestId"] == response.headers["x-request-id"]
    return body["data"]  # type: ignore[no-any-return]


async def test_the_whole_journey(
    pocketllm_server: LiveServer, openai_upstream: FakeUpstream, engine: object
) -> None:
    async with httpx.AsyncClient(base_url=pocketllm_server.url + "/v1", timeout=30) as client:
        account = {"email": "journey@example.com", "password": PASSWORD}
        signup = data(await client.post("/auth/signup", json=account), 201)
        assert signup["session"] is None
        signin = data(await client.post("/auth/signin", json=account))
        assert signin["session"]["expires_in"] == 3600
        refreshed = data(
            await client.post(
                "/auth/refresh", json={"refresh_token": signin["session"]["refresh_token"]}
            )
        )
        headers = {"Authorization": f"Bearer {refreshed['tokens']['access_token']}"}

        provider = data(
            await client.post(
                "/providers/activate",
                headers=headers,
                json={
                    "provider": "openai",
                    "apiKey": OPENAI_TEST_KEY,
                    "baseUrl": openai_upstream.url + "/v1",
                },
            )
        )
        assert provider["is_active"] and provider["api_key_preview"].endswith(OPENAI_TEST_KEY[-4:])

        catalog = (await client.get("/models", headers=headers)).json()
        assert "fake-model" in [m["id"] for m in catalog["models"]]
        imported = data(
            await client.post(
                "/models/import",
                headers=headers,
                json={"provider": "openai", "selections": [{"id": "fake-model", "name": "Fake"}]},
            ),
            201,
        )
        assert imported[0]["isDefault"] is True

        chat = data(
            await client.post(
                "/chats",
                headers=headers,
                json={
                    "title": "Journey",
                    "model_config": {"provider": "openai", "model": "fake-model"},
                },
            ),
            201,
        )
        sent = data(
            await client.post(
                f"/chats/{chat['id']}/messages", headers=headers, json={"content": "Hello there"}
            ),
            201,
        )
        assert sent["assistantMessage"]["content"] == "Fake reply to: Hello there"
        async with client.stream(
            "POST",
            f"/chats/{chat['id']}/messages",
            headers=headers,
            json={"content": "Stream please", "stream": True},
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = [event async for event in sse_events(stream)]
        assert events[-1].event == "done"
        history = data(await client.get(f"/chats/{chat['id']}/messages", headers=headers))
        assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]

        job = data(
            await client.post(
                "/jobs/image-generation",
                headers=headers,
                json={"prompt": "A lighthouse", "model": "dall-e-2", "size": "256x256"},
            ),
            201,
        )

        async def finished() -> dict[str, Any] | None:
            current = data(await client.get(f"/jobs/{job['id']}", headers=headers))
            return current if current["status"] in ("completed", "failed") else None

        current = await eventually(finished, timeout=20, what="image job finished")
        assert current["status"] == "completed", current
        image = await client.get(current["result"]["imageUrl"], headers=headers)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert image.content.startswith(b"\x89PNG")
        assert (await client.get(current["result"]["imageUrl"])).status_code == 401
