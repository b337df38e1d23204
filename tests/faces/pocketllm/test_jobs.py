"""Contract: `/v1/jobs*` on the jobs engine, and `/v1/media/{id}` serving the images."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from switchboard.models import MediaFile
from tests.faces.pocketllm.conftest import (
    ISO_MS_Z,
    UUID,
    Account,
    data_of,
    error_of,
    sign_up_and_in,
)
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.asyncio

JOB_FIELDS = {
    "id",
    "user_id",
    "type",
    "status",
    "parameters",
    "result",
    "error_message",
    "progress",
    "estimated_cost",
    "actual_cost",
    "created_at",
    "updated_at",
    "completed_at",
}
CREATE = {
    "prompt": "A beautiful sunset over mountains",
    "model": "dall-e-3",
    "size": "1024x1024",
    "quality": "hd",
    "style": "vivid",
    "n": 1,
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


def _cancelled_runs() -> float:
    """How many image job runs in this process ended as cancelled (the runner's metric)."""
    labels = {"type": "image_generation", "outcome": "cancelled"}
    return REGISTRY.get_sample_value("switchboard_job_duration_seconds_count", labels) or 0.0


async def wait_for(harness: Harness, account: Account, job_id: str, status: str) -> Any:
    """The job, once it reads `status`."""

    async def reached() -> Any:
        job = data_of(await harness.client.get(f"/v1/jobs/{job_id}", headers=account.headers))
        return job if job["status"] == status else None

    return await eventually(reached, timeout=10, what=f"job {job_id} {status}")


class TestImageJobs:
    async def test_a_deleted_jobs_images_are_no_longer_served(self, app: Harness) -> None:
        alice = await sign_up_and_in(app.client, "deleter@example.com")
        job = data_of(
            await app.client.post("/v1/jobs/image-generation", headers=alice.headers, json=CREATE),
            201,
        )
        done = await wait_for(app, alice, job["id"], "completed")
        url = done["result"]["imageUrl"]
        assert (await app.client.get(url, headers=alice.headers)).status_code == 200
        [media] = await app.run(lambda services: services.media.for_job(alice.id, job["id"]))
        async with app.ctx.unit_of_work() as uow:
            storage_key = await uow.session.scalar(
                select(MediaFile.storage_key).where(MediaFile.id == media.id)
            )
        assert storage_key is not None
        assert await app.ctx.media_storage.exists(storage_key)

        deleted = await app.client.delete(f"/v1/jobs/{job['id']}", headers=alice.headers)
        assert deleted.status_code == 200
        assert (await app.client.get(url, headers=alice.headers)).status_code == 404
        assert not await app.ctx.media_storage.exists(storage_key)

    async def test_create_golden_then_completed_and_downloaded(
        self, app: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        response = await app.client.post(
            "/v1/jobs/image-generation", headers=alice.headers, json=CREATE
        )
        job = data_of(response, 201)
        assert set(job) == JOB_FIELDS
        assert UUID.match(job["id"]) and job["user_id"] == alice.id
        assert job["type"] == "image_generation"
        assert job["status"] in ("pending", "processing")
        assert {k: job["parameters"][k] for k in CREATE} == CREATE
        assert job["estimated_cost"] == 0.08
        assert ISO_MS_Z.match(job["created_at"])

        done = await wait_for(app, alice, job["id"], "completed")
        assert done["actual_cost"] == 0.08
        assert ISO_MS_Z.match(done["completed_at"])
        result = done["result"]
        assert result["revisedPrompt"] == "revised: A beautiful sunset over mountains"
        assert result["imageUrl"].startswith("http://testserver/v1/media/")
        image = await app.client.get(result["imageUrl"], headers=alice.headers)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in image.headers["content-security-policy"]
        assert image.headers["content-disposition"].startswith("inline; filename=")
        assert image.content.startswith(b"\x89PNG")

        listed = data_of(await app.client.get("/v1/jobs?status=completed", headers=alice.headers))
        assert [j["id"] for j in listed] == [job["id"]]
        assert data_of(await app.client.get("/v1/jobs?status=pending", headers=alice.headers)) == []

        # Another user gets 404 for the job and its image.
        bob = await sign_up_and_in(app.client, "bob@example.com")
        error_of(await app.client.get(f"/v1/jobs/{job['id']}", headers=bob.headers), 404)
        error_of(await app.client.get(result["imageUrl"], headers=bob.headers), 404)

        deleted = await app.client.delete(f"/v1/jobs/{job['id']}", headers=alice.headers)
        assert data_of(deleted) == {"message": "Job cancelled/deleted successfully"}
        error_of(await app.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers), 404)

    async def test_failed_job_is_retried(self, app: Harness, openai_upstream: FakeUpstream) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        openai_upstream.fail(status=400, message="content policy", path_contains="images")
        body = {"prompt": "x", "model": "dall-e-2", "size": "256x256"}
        job = data_of(
            await app.client.post("/v1/jobs/image-generation", headers=alice.headers, json=body),
            201,
        )
        failed = await wait_for(app, alice, job["id"], "failed")
        assert failed["error_message"] and failed["result"] is None
        retried = await app.client.post(f"/v1/jobs/{job['id']}/retry", headers=alice.headers)
        assert data_of(retried) == {
            "id": job["id"],
            "status": "pending",
            "message": "Job queued for retry",
        }
        done = await wait_for(app, alice, job["id"], "completed")
        assert done["actual_cost"] == 0.016
        # Only failed jobs can be retried; any other is a bad request, as in the original.
        again = await app.client.post(f"/v1/jobs/{job['id']}/retry", headers=alice.headers)
        assert "failed" in error_of(again, 400)

    async def test_delete_cancels_a_pending_job(
        self, harness_factory: Callable[..., Awaitable[Harness]]
    ) -> None:
        idle = await harness_factory(jobs_in_process="off")
        alice = await sign_up_and_in(idle.client, "alice@example.com")
        job = data_of(
            await idle.client.post("/v1/jobs/image-generation", headers=alice.headers, json=CREATE),
            201,
        )
        deleted = await idle.client.delete(f"/v1/jobs/{job['id']}", headers=alice.headers)
        assert data_of(deleted) == {"message": "Job cancelled/deleted successfully"}
        cancelled = data_of(await idle.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers))
        assert cancelled["status"] == "cancelled"
        listed = data_of(
            await idle.client.get(
                "/v1/jobs?status=cancelled&type=image_generation", headers=alice.headers
            )
        )
        assert [j["id"] for j in listed] == [job["id"]]

    async def test_delete_cancels_a_running_job_at_once(
        self, app: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        # The upstream takes its time: the job stays running until it is cancelled.
        openai_upstream.fail(delay=3.0, path_contains="images")
        job = data_of(
            await app.client.post("/v1/jobs/image-generation", headers=alice.headers, json=CREATE),
            201,
        )
        await wait_for(app, alice, job["id"], "processing")
        stopped = _cancelled_runs()
        deleted = await app.client.delete(f"/v1/jobs/{job['id']}", headers=alice.headers)
        assert data_of(deleted) == {"message": "Job cancelled/deleted successfully"}
        cancelled = data_of(await app.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers))
        assert cancelled["status"] == "cancelled" and cancelled["completed_at"] is not None
        # The runner stops the handler afterwards, and writes nothing over the cancel.
        await eventually(
            lambda: _cancelled_runs() != stopped, timeout=10, what="the runner stopping the job"
        )
        after = data_of(await app.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers))
        assert after == cancelled
        retried = await app.client.post(f"/v1/jobs/{job['id']}/retry", headers=alice.headers)
        error_of(retried, 400)

    async def test_original_input_data_form(self, harness: Harness, alice: Account) -> None:
        body = {
            "job_type": "image_generation",
            "input_data": {"prompt": "a cat", "model": "dall-e-2", "size": "512x512"},
        }
        job = data_of(
            await harness.client.post(
                "/v1/jobs/image-generation", headers=alice.headers, json=body
            ),
            201,
        )
        assert job["parameters"]["size"] == "512x512" and job["estimated_cost"] == 0.018

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"model": "dall-e-3"}, "prompt"),
            ({"prompt": "x"}, "model"),
            ({"prompt": "x", "model": "nope"}, "model"),
            ({"prompt": "x", "model": "dall-e-3", "size": "256x256"}, "size"),
            ({"prompt": "x", "model": "dall-e-2", "quality": "hd"}, "quality"),
            ({"prompt": "x", "model": "dall-e-3", "style": "cubist"}, "style"),
            ({"prompt": "x", "model": "dall-e-3", "n": 0}, "n"),
            ({"prompt": "x" * 4001, "model": "dall-e-3"}, "prompt"),
            ({"prompt": "x\u0000", "model": "dall-e-3"}, "prompt"),
            ({"prompt": "x", "model": "dall-e-3", "n": "two"}, "n"),
        ],
    )
    async def test_bad_input(
        self, harness: Harness, alice: Account, body: dict[str, object], field: str
    ) -> None:
        response = await harness.client.post(
            "/v1/jobs/image-generation", headers=alice.headers, json=body
        )
        assert field in error_of(response, 400)

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("status=weird", "status"),
            ("limit=101", "limit"),
            ("limit=0", "limit"),
            ("offset=-2", "offset"),
        ],
    )
    async def test_bad_list_filters(
        self, harness: Harness, alice: Account, query: str, field: str
    ) -> None:
        response = await harness.client.get(f"/v1/jobs?{query}", headers=alice.headers)
        assert field in error_of(response, 400)

    async def test_processing_filter_maps_to_running(
        self, harness: Harness, alice: Account
    ) -> None:
        assert (
            data_of(await harness.client.get("/v1/jobs?status=processing", headers=alice.headers))
            == []
        )


class TestImageModelsAndCost:
    async def test_models_golden(self, harness: Harness, alice: Account) -> None:
        data = data_of(
            await harness.client.get("/v1/jobs/image-generation/models", headers=alice.headers)
        )
        by_name = {m["name"]: m for m in data}
        dalle3 = by_name["dall-e-3"]
        assert dalle3["provider"] == "openai"
        assert dalle3["sizes"] == ["1024x1024", "1792x1024", "1024x1792"]
        assert dalle3["quality"] == ["standard", "hd"]
        for key, price in {
            "1024x1024_standard": 0.04,
            "1024x1024_hd": 0.08,
            "1792x1024_standard": 0.08,
            "1792x1024_hd": 0.12,
        }.items():
            assert dalle3["pricing"][key] == price
        dalle2 = by_name["dall-e-2"]
        assert dalle2["sizes"] == ["256x256", "512x512", "1024x1024"]
        assert dalle2["quality"] == ["standard"]
        assert {k: dalle2["pricing"][k] for k in ("256x256", "512x512", "1024x1024")} == {
            "256x256": 0.016,
            "512x512": 0.018,
            "1024x1024": 0.02,
        }

    async def test_estimate_golden(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.post(
            "/v1/jobs/image-generation/estimate-cost",
            headers=alice.headers,
            json={"model": "dall-e-3", "size": "1024x1024", "quality": "hd", "n": 2},
        )
        assert data_of(response) == {
            "estimatedCost": 0.16,
            "currency": "USD",
            "breakdown": {
                "model": "dall-e-3",
                "size": "1024x1024",
                "quality": "hd",
                "quantity": 2,
                "unitCost": 0.08,
            },
        }

    async def test_estimate_original_dimensions_form(
        self, harness: Harness, alice: Account
    ) -> None:
        response = await harness.client.post(
            "/v1/jobs/image-generation/estimate-cost",
            headers=alice.headers,
            json={"model": "dall-e-2", "dimensions": [512, 512], "steps": 30},
        )
        assert data_of(response)["estimatedCost"] == 0.018

    async def test_estimate_invalid_combination(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.post(
            "/v1/jobs/image-generation/estimate-cost",
            headers=alice.headers,
            json={"model": "dall-e-2", "size": "1024x1024", "quality": "hd"},
        )
        assert "quality" in error_of(response, 400)
