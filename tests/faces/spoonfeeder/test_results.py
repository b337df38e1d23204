"""Contract: Spoon Feeder's Results section: what tasks produced, listed, read,
downloaded (text as a file, images with their type) and deleted with their files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from switchboard.core.media.errors import MediaNotFound
from tests.faces.spoonfeeder.conftest import caller, data_of, error_of, message_of
from tests.faces.spoonfeeder.test_tasks import TEXT, create, wait_for
from tests.fixtures.app import Harness, User
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.upstreams.openai_fake import tiny_png

pytestmark = pytest.mark.asyncio

IMAGE = {
    "name": "Logo",
    "type": "image",
    "provider": "openai",
    "prompt": "A fox",
    "options": {"model": "dall-e-2", "size": "256x256"},
}
RESULT_FIELDS = {"id", "task_id", "type", "content", "metadata", "created_at"}


@pytest.fixture
async def app(
    harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
) -> Harness:
    """Jobs run inside the app; the operator's OpenAI is the fake upstream."""
    return await harness_factory(
        openai_api_key=OPENAI_TEST_KEY,
        openai_base_url=openai_upstream.url + "/v1",
        jobs_in_process="on",
        job_sweep_interval_seconds=0.05,
    )


async def finished(app: Harness, user: User, body: dict[str, Any]) -> Any:
    """The result of a task created with `body`, once it completed."""
    task = await create(app, user, body)
    await wait_for(app, user, task["id"], "complete")
    listed = data_of(await app.client.get("/api/results", headers=user.headers))
    return next(r for r in listed if r["task_id"] == task["id"])


class TestResults:
    async def test_text_result_list_get_and_download(self, app: Harness) -> None:
        alice = await caller(app)
        result = await finished(app, alice, TEXT)
        assert set(result) >= RESULT_FIELDS
        assert result["type"] == "text"
        assert result["created_at"].endswith("Z")
        assert {"model", "tokens", "duration_ms"} <= set(result["metadata"])
        assert result["task_name"] == TEXT["name"] and result["task_provider"] == "echo"
        got = data_of(await app.client.get(f"/api/results/{result['id']}", headers=alice.headers))
        assert got["task_prompt"] == TEXT["prompt"]
        assert got["content"] == result["content"]
        download = await app.client.get(
            f"/api/results/{result['id']}/download", headers=alice.headers
        )
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/plain")
        assert download.headers["x-content-type-options"] == "nosniff"
        assert (
            f'attachment; filename="result_{result["id"]}.txt"'
            == download.headers["content-disposition"]
        )
        assert download.text == result["content"]

    async def test_image_result_downloads_with_its_type_and_delete_removes_the_file(
        self, app: Harness
    ) -> None:
        alice = await caller(app)
        result = await finished(app, alice, IMAGE)
        got = data_of(await app.client.get(f"/api/results/{result['id']}", headers=alice.headers))
        assert got["type"] == "image"
        assert got["metadata"]["model"] == "dall-e-2"
        path = f"/api/results/{result['id']}/download"
        assert got["content"] == path
        download = await app.client.get(path, headers=alice.headers)
        assert download.headers["content-type"] == "image/png"
        assert download.content == tiny_png()
        media_id = got["metadata"]["images"][0]
        assert (
            message_of(
                await app.client.delete(f"/api/results/{result['id']}", headers=alice.headers)
            )
            == "Result deleted"
        )
        error_of(await app.client.get(f"/api/results/{result['id']}", headers=alice.headers), 404)
        error_of(await app.client.get(path, headers=alice.headers), 404)
        async with app.ctx.open_services() as services:
            with pytest.raises(MediaNotFound):
                await services.media.get(alice.id, media_id)

    async def test_type_filter_paging_and_total(self, app: Harness) -> None:
        alice = await caller(app)
        text = await finished(app, alice, TEXT)
        image = await finished(app, alice, IMAGE)
        body = (await app.client.get("/api/results?limit=1", headers=alice.headers)).json()
        assert body["pagination"] == {"page": 1, "limit": 1, "total": 2, "totalPages": 2}
        assert [r["id"] for r in body["data"]] == [image["id"]]
        second = await app.client.get("/api/results?limit=1&offset=1", headers=alice.headers)
        assert [r["id"] for r in data_of(second)] == [text["id"]]
        typed = (await app.client.get("/api/results?type=text", headers=alice.headers)).json()
        assert [r["id"] for r in typed["data"]] == [text["id"]]
        assert typed["pagination"]["total"] == 1
        assert data_of(await app.client.get("/api/results?type=video", headers=alice.headers)) == []
        error_of(await app.client.get("/api/results?type=poem", headers=alice.headers), 400)
        error_of(await app.client.get("/api/results?limit=0", headers=alice.headers), 400)

    async def test_another_users_result_is_404(self, app: Harness) -> None:
        alice = await caller(app)
        bob = await caller(app, "bob@example.com")
        result = await finished(app, alice, TEXT)
        for method, suffix in (("GET", ""), ("GET", "/download"), ("DELETE", "")):
            response = await app.client.request(
                method, f"/api/results/{result['id']}{suffix}", headers=bob.headers
            )
            error_of(response, 404, "NOT_FOUND")
        assert data_of(await app.client.get("/api/results", headers=bob.headers)) == []
        error_of(await app.client.get("/api/results/not-an-id", headers=alice.headers), 404)
        error_of(await app.client.get("/api/results"), 401)
