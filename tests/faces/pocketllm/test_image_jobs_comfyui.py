"""Contract: PocketLLM's image jobs with `provider: "comfyui"`, run on the operator's
ComfyUI (the fake server), from the request to the downloaded image."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.faces.pocketllm.conftest import data_of, error_of, sign_up_and_in
from tests.faces.pocketllm.test_jobs import wait_for
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.comfyui_fake import CHECKPOINTS, ComfyFake, png
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.asyncio

CREATE = {"prompt": "A lighthouse at dusk", "provider": "comfyui", "size": "512x512"}


@pytest.fixture
async def app(harness_factory: Callable[..., Awaitable[Harness]], comfyui: ComfyFake) -> Harness:
    """Jobs run inside the app; COMFYUI_URL is the fake ComfyUI."""
    return await harness_factory(
        comfyui_url=comfyui.url,
        jobs_in_process="on",
        job_sweep_interval_seconds=0.05,
        job_retry_base_seconds=0.01,
    )


async def _queued(comfyui: ComfyFake) -> str:
    return await eventually(
        lambda: comfyui.pending[0].prompt_id if comfyui.pending else None,
        timeout=10,
        what="the prompt to be queued on ComfyUI",
    )


async def _create(app: Harness, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = await app.client.post("/v1/jobs/image-generation", headers=headers, json=body)
    return data_of(response, 201)


class TestComfyUIImageJobs:
    async def test_created_free_then_completed_and_downloaded(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        job = await _create(app, alice.headers, CREATE)
        assert job["estimated_cost"] == 0.0
        assert job["parameters"]["provider"] == "comfyui"
        await comfyui.run(await _queued(comfyui))
        done = await wait_for(app, alice, job["id"], "completed")
        assert done["actual_cost"] == 0.0
        image = await app.client.get(done["result"]["imageUrl"], headers=alice.headers)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.content == png()
        bob = await sign_up_and_in(app.client, "bob@example.com")
        error_of(await app.client.get(done["result"]["imageUrl"], headers=bob.headers), 404)

    async def test_a_checkpoint_comfyui_lacks_fails_the_job_naming_the_offered_ones(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        job = await _create(app, alice.headers, CREATE | {"model": "missing.safetensors"})
        failed = await wait_for(app, alice, job["id"], "failed")
        assert failed["error_message"] == (
            f"unknown checkpoint 'missing.safetensors'; one of: {', '.join(CHECKPOINTS)}"
        )
        assert comfyui.pending == [] and comfyui.history == {}

    async def test_a_generation_that_fails_on_comfyui_fails_the_job(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        job = await _create(app, alice.headers, CREATE)
        await comfyui.fail(await _queued(comfyui), "CUDA out of memory")
        failed = await wait_for(app, alice, job["id"], "failed")
        assert failed["error_message"] == (
            "ComfyUI failed at node 3 (KSampler): torch.OutOfMemoryError: CUDA out of memory"
        )

    async def test_deleting_a_running_job_interrupts_comfyui(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        job = await _create(app, alice.headers, CREATE)
        prompt_id = await _queued(comfyui)
        await comfyui.begin(prompt_id)
        deleted = await app.client.delete(f"/v1/jobs/{job['id']}", headers=alice.headers)
        assert deleted.status_code == 200
        await eventually(
            lambda: comfyui.interrupts == [{"prompt_id": prompt_id}],
            timeout=10,
            what="the prompt to be interrupted on ComfyUI",
        )

    async def test_image_options_of_a_priced_model_are_still_checked(self, app: Harness) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        response = await app.client.post(
            "/v1/jobs/image-generation",
            headers=alice.headers,
            json={"prompt": "x", "provider": "comfyui", "size": "12x12"},
        )
        assert "between 64 and 4096" in str(error_of(response, 400))


async def test_without_comfyui_url_the_job_fails_in_plain_words(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    app = await harness_factory(jobs_in_process="on", job_sweep_interval_seconds=0.05)
    alice = await sign_up_and_in(app.client, "alice@example.com")
    job = await _create(app, alice.headers, CREATE)
    failed = await wait_for(app, alice, job["id"], "failed")
    assert failed["error_message"] == "ComfyUI is not configured (COMFYUI_URL)"
