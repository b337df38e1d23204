"""Contract: Spoon Feeder's Tasks section, with tasks that really run on the jobs engine
(text through the built-in echo provider and the fake OpenAI, images through the fake
OpenAI image API, video without a workflow failing clearly)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.faces.spoonfeeder.conftest import caller, data_of, error_of, message_of
from tests.fixtures.app import Harness, User
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.asyncio

TEXT = {
    "name": "Product Description",
    "type": "text",
    "provider": "echo",
    "prompt": "Write a product description for a smart water bottle",
    "options": {"temperature": 0.7},
}
TASK_FIELDS = {
    "id",
    "name",
    "type",
    "provider",
    "prompt",
    "options",
    "status",
    "error",
    "created_at",
    "completed_at",
}


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
        job_retry_base_seconds=0.01,
    )


async def create(app: Harness, user: User, body: dict[str, Any] | None = None) -> Any:
    """A created task's data."""
    return data_of(
        await app.client.post("/api/tasks", headers=user.headers, json=body or TEXT), 201
    )


async def wait_for(app: Harness, user: User, task_id: str, status: str) -> Any:
    """The task, once it reads `status`."""

    async def reached() -> Any:
        task = data_of(await app.client.get(f"/api/tasks/{task_id}", headers=user.headers))
        return task if task["status"] == status else None

    return await eventually(reached, timeout=10, what=f"task {task_id} to be {status}")


class TestCreateAndGet:
    async def test_a_text_task_runs_and_completes(self, app: Harness) -> None:
        alice = await caller(app)
        task = await create(app, alice)
        assert set(task) >= TASK_FIELDS
        assert task["name"] == "Product Description"
        assert task["status"] in ("pending", "running", "complete")
        assert task["created_at"].endswith("Z")
        done = await wait_for(app, alice, task["id"], "complete")
        assert done["error"] is None
        assert done["options"] == {"temperature": 0.7}
        assert done["completed_at"].endswith("Z")
        results = data_of(await app.client.get("/api/results", headers=alice.headers))
        assert [r["task_id"] for r in results] == [task["id"]]
        assert TEXT["prompt"] in results[0]["content"]

    async def test_the_jobs_engine_announces_the_task_on_the_bus(self, app: Harness) -> None:
        alice = await caller(app)
        subscription = await app.ctx.bus.subscribe([f"user:{alice.id}"])
        try:
            task = await create(app, alice)

            async def until_completed() -> list[str]:
                seen: list[str] = []
                async for event in subscription:
                    if event.data.get("id") == task["id"]:
                        seen.append(event.type)
                    if event.type == "job.completed":
                        return seen
                return seen

            seen = await asyncio.wait_for(until_completed(), timeout=10)
        finally:
            await subscription.close()
        # The task is announced (with its name) before its job can start.
        assert seen[:2] == ["task.created", "job.created"] and seen[-1] == "job.completed"
        assert "job.started" in seen

    async def test_claude_is_anthropic_and_openai_text_uses_options_model(
        self, app: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await caller(app)
        body = TEXT | {"provider": "openai", "options": {"model": "gpt-4o-mini"}}
        task = await create(app, alice, body)
        await wait_for(app, alice, task["id"], "complete")
        result = data_of(await app.client.get("/api/results", headers=alice.headers))[0]
        assert result["metadata"]["model"].startswith("gpt-4o-mini")
        assert isinstance(result["metadata"]["duration_ms"], int)
        claude = await create(app, alice, TEXT | {"provider": "claude"})
        failed = await wait_for(app, alice, claude["id"], "failed")
        assert "anthropic" in failed["error"].lower()

    async def test_an_image_task_keeps_the_image(self, app: Harness) -> None:
        alice = await caller(app)
        body = {"name": "Logo", "type": "image", "provider": "openai", "prompt": "A fox"}
        task = await create(
            app, alice, body | {"options": {"model": "dall-e-2", "size": "256x256"}}
        )
        await wait_for(app, alice, task["id"], "complete")
        result = data_of(await app.client.get("/api/results?type=image", headers=alice.headers))[0]
        assert result["type"] == "image"
        assert result["content"] == f"/api/results/{result['id']}/download"
        image = await app.client.get(result["content"], headers=alice.headers)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"

    async def test_a_video_task_without_a_workflow_fails_clearly(self, app: Harness) -> None:
        alice = await caller(app)
        body = {"name": "Clip", "type": "video", "provider": "comfyui", "prompt": "Waves"}
        task = await create(app, alice, body)
        failed = await wait_for(app, alice, task["id"], "failed")
        assert failed["error"].startswith("No ComfyUI workflow configured for video tasks")

    @pytest.mark.parametrize("missing", ["name", "type", "provider", "prompt"])
    async def test_missing_fields_are_400(self, app: Harness, missing: str) -> None:
        alice = await caller(app)
        body = {k: v for k, v in TEXT.items() if k != missing}
        response = await app.client.post("/api/tasks", headers=alice.headers, json=body)
        assert missing in error_of(response, 400, "VALIDATION_ERROR")

    @pytest.mark.parametrize(
        ("body", "param"),
        [
            (TEXT | {"provider": "nowhere"}, "provider"),
            (TEXT | {"type": "poem"}, "type"),
            (TEXT | {"options": {"temperature": "hot"}}, "options.temperature"),
            (TEXT | {"type": "video", "provider": "openai"}, "provider"),
            (TEXT | {"type": "image", "options": {"model": "nope"}}, "options.model"),
        ],
    )
    async def test_bad_input_is_400(self, app: Harness, body: dict[str, Any], param: str) -> None:
        alice = await caller(app)
        response = await app.client.post("/api/tasks", headers=alice.headers, json=body)
        assert param in error_of(response, 400)

    async def test_another_users_task_is_404(self, app: Harness) -> None:
        alice = await caller(app)
        bob = await caller(app, "bob@example.com")
        task = await create(app, alice)
        for method, path in (
            ("GET", f"/api/tasks/{task['id']}"),
            ("DELETE", f"/api/tasks/{task['id']}"),
            ("POST", f"/api/tasks/{task['id']}/retry"),
        ):
            response = await app.client.request(method, path, headers=bob.headers)
            assert "not found" in error_of(response, 404, "NOT_FOUND").lower()
        listed = await app.client.get("/api/tasks", headers=bob.headers)
        assert data_of(listed) == []
        error_of(await app.client.get("/api/tasks/not-an-id", headers=alice.headers), 404)


class TestListing:
    async def test_filters_and_paging(self, app: Harness) -> None:
        alice = await caller(app)
        first = await create(app, alice)
        await wait_for(app, alice, first["id"], "complete")
        video = await create(
            app, alice, {"name": "V", "type": "video", "provider": "comfyui", "prompt": "p"}
        )
        await wait_for(app, alice, video["id"], "failed")
        response = await app.client.get("/api/tasks?limit=1", headers=alice.headers)
        body = response.json()
        assert body["pagination"] == {"page": 1, "limit": 1, "total": 2, "totalPages": 2}
        assert [t["id"] for t in body["data"]] == [video["id"]]
        second = await app.client.get("/api/tasks?limit=1&offset=1", headers=alice.headers)
        assert [t["id"] for t in data_of(second)] == [first["id"]]
        paged = (await app.client.get("/api/tasks?limit=1&page=2", headers=alice.headers)).json()
        assert paged["pagination"]["page"] == 2 and paged["data"][0]["id"] == first["id"]
        for query, ids in (
            ("status=complete", [first["id"]]),
            ("status=failed", [video["id"]]),
            ("type=video", [video["id"]]),
            ("provider=echo", [first["id"]]),
            ("status=pending", []),
        ):
            listed = data_of(await app.client.get(f"/api/tasks?{query}", headers=alice.headers))
            assert [t["id"] for t in listed] == ids, query
        error_of(await app.client.get("/api/tasks?status=done", headers=alice.headers), 400)

    async def test_history_filters_search_and_export(self, app: Harness) -> None:
        alice = await caller(app)
        task = await create(app, alice, TEXT | {"name": "=HYPERLINK(1)"})
        await wait_for(app, alice, task["id"], "complete")
        other = await create(app, alice, TEXT | {"name": "Other", "prompt": "Something"})
        await wait_for(app, alice, other["id"], "complete")
        history = (await app.client.get("/api/tasks/history", headers=alice.headers)).json()
        assert history["success"] is True
        assert history["pagination"] == {"page": 1, "limit": 20, "total": 2, "totalPages": 1}
        searched = await app.client.get(
            "/api/tasks/history?search=WATER%20bottle", headers=alice.headers
        )
        assert [t["id"] for t in data_of(searched)] == [task["id"]]
        literal = await app.client.get("/api/tasks/history?search=%25", headers=alice.headers)
        assert data_of(literal) == []
        created_on = task["created_at"][:10]
        for query, count in (
            (f"dateFrom={created_on}&dateTo={created_on}", 2),
            ("dateFrom=2999-01-01", 0),
            ("dateTo=2000-01-01T00:00:00Z", 0),
            ("status=failed", 0),
            ("type=text&provider=echo", 2),
            ("dateTo=9999-12-31", 2),
            ("dateFrom=0001-01-01T00:00:00%2B14:00", 2),
        ):
            found = data_of(
                await app.client.get(f"/api/tasks/history?{query}", headers=alice.headers)
            )
            assert len(found) == count, query
        for bad in ("dateFrom=soon", "dateTo=0.5", "dateTo=2024-13-01"):
            response = await app.client.get(f"/api/tasks/history?{bad}", headers=alice.headers)
            error_of(response, 400, "VALIDATION_ERROR")

        exported = data_of(await app.client.get("/api/tasks/history/export", headers=alice.headers))
        assert exported["filename"].startswith("tasks_export_")
        assert exported["filename"].endswith(".json")
        assert {t["id"] for t in exported["content"]} == {task["id"], other["id"]}
        none = await app.client.get(
            "/api/tasks/history/export?format=json&dateFrom=2999-01-01", headers=alice.headers
        )
        assert data_of(none)["content"] == []

        response = await app.client.get(
            f"/api/tasks/history/export?format=csv&dateFrom={created_on}", headers=alice.headers
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert 'filename="task_history.csv"' in response.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["id", "name", "type", "provider", "status", "created_at", "completed_at"]
        names = {row[1] for row in rows[1:]}
        assert names == {"'=HYPERLINK(1)", "Other"}
        empty = await app.client.get(
            "/api/tasks/history/export?format=csv&dateTo=2000-01-01", headers=alice.headers
        )
        assert len(list(csv.reader(io.StringIO(empty.text)))) == 1
        error_of(
            await app.client.get("/api/tasks/history/export?format=xml", headers=alice.headers), 400
        )


class TestDeleteAndRetry:
    async def test_a_pending_task_is_cancelled_and_a_finished_one_deleted(
        self, harness_factory: Callable[..., Awaitable[Harness]]
    ) -> None:
        idle = await harness_factory(jobs_in_process="off")
        alice = await caller(idle)
        task = await create(idle, alice)
        assert task["status"] == "pending"
        message_of(await idle.client.delete(f"/api/tasks/{task['id']}", headers=alice.headers))
        cancelled = data_of(
            await idle.client.get(f"/api/tasks/{task['id']}", headers=alice.headers)
        )
        assert cancelled["status"] == "cancelled"
        deleted = await idle.client.delete(f"/api/tasks/{task['id']}", headers=alice.headers)
        assert message_of(deleted) == "Task deleted"
        error_of(await idle.client.get(f"/api/tasks/{task['id']}", headers=alice.headers), 404)

    async def test_deleting_a_finished_task_deletes_its_result(self, app: Harness) -> None:
        alice = await caller(app)
        task = await create(app, alice)
        await wait_for(app, alice, task["id"], "complete")
        assert (
            message_of(await app.client.delete(f"/api/tasks/{task['id']}", headers=alice.headers))
            == "Task deleted"
        )
        assert data_of(await app.client.get("/api/results", headers=alice.headers)) == []

    async def test_a_failed_task_is_retried_and_counted(
        self, app: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await caller(app)
        openai_upstream.fail(status=400, message="content policy", path_contains="chat")
        task = await create(
            app, alice, TEXT | {"provider": "openai", "options": {"model": "gpt-4o-mini"}}
        )
        failed = await wait_for(app, alice, task["id"], "failed")
        assert failed["error"]
        retried = await app.client.post(f"/api/tasks/{task['id']}/retry", headers=alice.headers)
        data = data_of(retried)
        assert set(data) == {"id", "status", "retryCount"}
        assert data["id"] == task["id"] and data["retryCount"] == 1
        assert data["status"] in ("pending", "running", "complete")
        done = await wait_for(app, alice, task["id"], "complete")
        assert done["retry_count"] == 1
        again = await app.client.post(f"/api/tasks/{task['id']}/retry", headers=alice.headers)
        assert "failed" in error_of(again, 400)
