"""The image_generation job on the operator's ComfyUI (`provider: "comfyui"`), against the
fake ComfyUI server: images kept as media at no cost, redelivery, refusals, no engine."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.storage import LocalMediaStorage
from switchboard.core.errors import ErrorKind, Invalid
from switchboard.core.images.tasks import (
    IMAGE_GENERATION,
    ImageGenerationHandler,
    ImageGenerationParams,
    image_job_types,
)
from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.errors import InvalidJobParams
from switchboard.core.jobs.registry import JobRegistry
from switchboard.core.jobs.schemas import JobCreate, JobRead
from switchboard.core.media.service import MediaService
from switchboard.core.usage.recorder import UsageEntry, UsageRecorder
from switchboard.core.workflows.errors import WorkflowEngineNotConfigured, WorkflowFailed
from switchboard.core.workflows.ports import WorkflowEngine
from switchboard.kit.db import unit_of_work
from switchboard.models import Job
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.comfyui_fake import CHECKPOINTS, ComfyFake, png
from tests.fixtures.upstreams.comfyui_fixtures import engine_on
from tests.fixtures.waiting import eventually

PROMPT = "A lighthouse at dusk"


class _NoFetcher:
    """The engine path never fetches provider URLs."""

    async def fetch(self, url: str, *, trusted: bool = False) -> bytes:
        raise AssertionError(f"fetched {url}")


@dataclasses.dataclass
class Env:
    harness: Harness
    storage: LocalMediaStorage
    comfyui: ComfyFake
    engine: WorkflowEngine
    owner: str

    def handler(self, **kwargs: Any) -> ImageGenerationHandler:
        kwargs.setdefault("engine", self.engine)
        return ImageGenerationHandler(
            self.harness.ctx.providers, self.storage, _NoFetcher(), **kwargs
        )

    async def context(self) -> tuple[JobContext, list[tuple[float, str | None]]]:
        """A job row and a context for running its handler directly."""
        async with self.harness.ctx.unit_of_work() as uow:
            job = Job(user_id=self.owner, type=IMAGE_GENERATION, params={})
            uow.session.add(job)
            await uow.session.flush()
            job_id = job.id
        progress: list[tuple[float, str | None]] = []

        async def report(fraction: float, message: str | None) -> None:
            progress.append((fraction, message))

        sessions = self.harness.ctx.sessions
        ctx = JobContext(
            job_id=job_id,
            owner_id=self.owner,
            type=IMAGE_GENERATION,
            attempt=1,
            units=lambda: unit_of_work(sessions),
            report=report,
        )
        return ctx, progress

    async def run(
        self, handler: ImageGenerationHandler, ctx: JobContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Run the handler, driving the fake through the prompt it queues."""
        task = asyncio.create_task(handler(ctx, ImageGenerationParams.model_validate(params)))

        def queued() -> str | None:
            if task.done():
                task.result()
            return self.comfyui.pending[0].prompt_id if self.comfyui.pending else None

        await self.comfyui.run(await eventually(queued, what="the prompt to be queued"))
        return await asyncio.wait_for(task, timeout=5)


@pytest.fixture
async def env(
    harness: Harness, comfyui: ComfyFake, vendor_clients: OutboundClients, tmp_path: Path
) -> Env:
    owner = (await harness.user("painter@example.com")).id
    storage = LocalMediaStorage(tmp_path / "media")
    return Env(harness, storage, comfyui, engine_on(comfyui, vendor_clients), owner)


def _prompts(comfyui: ComfyFake) -> list[Any]:
    return [r.body for r in comfyui.upstream.requests if r.path == "/prompt"]


class TestOnComfyUI:
    async def test_images_are_kept_as_media_at_no_cost(self, env: Env) -> None:
        ctx, progress = await env.context()
        params = {"prompt": PROMPT, "provider": "comfyui", "size": "512x512", "n": 2, "seed": 3}
        result = await env.run(env.handler(), ctx, params)

        [sent] = _prompts(env.comfyui)
        graph = sent["prompt"]
        assert graph["4"]["inputs"]["ckpt_name"] == CHECKPOINTS[0]
        assert graph["5"]["inputs"] == {"width": 512, "height": 512, "batch_size": 2}
        assert graph["6"]["inputs"]["text"] == PROMPT
        assert graph["3"]["inputs"]["seed"] == 3
        assert {k: result[k] for k in ("model", "provider", "size", "n", "cost")} == {
            "model": CHECKPOINTS[0],
            "provider": "comfyui",
            "size": "512x512",
            "n": 2,
            "cost": 0.0,
        }
        assert result["actual_cost"] == 0.0
        assert [image["mime_type"] for image in result["images"]] == ["image/png"] * 2
        async with env.harness.ctx.unit_of_work() as uow:
            media = MediaService(uow.session, env.storage)
            read, data = await media.open(env.owner, result["images"][0]["media_id"])
        assert data == png()
        assert read.attributes["model"] == CHECKPOINTS[0]
        assert read.attributes["seed"] == 3

        fractions = [fraction for fraction, _ in progress]
        assert fractions == sorted(fractions)
        assert progress[0] == (0.1, "Starting image generation")
        assert progress[-1] == (1.0, "Images generated")
        # The engine's own progress fills the middle of the job's.
        assert all(0.1 <= fraction <= 0.9 for fraction, _ in progress[1:-1])

    async def test_redelivery_returns_the_stored_images_without_generating_again(
        self, env: Env
    ) -> None:
        ctx, _ = await env.context()
        params = {"prompt": PROMPT, "provider": "comfyui", "model": CHECKPOINTS[1]}
        first = await env.run(env.handler(), ctx, params)
        again = await env.handler()(ctx, ImageGenerationParams.model_validate(params))
        assert again == first
        assert len(_prompts(env.comfyui)) == 1

    async def test_options_comfyui_does_not_offer_fail_naming_the_allowed_ones(
        self, env: Env
    ) -> None:
        ctx, _ = await env.context()
        params = ImageGenerationParams.model_validate(
            {"prompt": PROMPT, "provider": "comfyui", "sampler": "ddim"}
        )
        with pytest.raises(Invalid) as caught:
            await env.handler()(ctx, params)
        assert caught.value.param == "sampler"
        assert "one of: euler, euler_ancestral, dpmpp_2m" in caught.value.message
        assert _prompts(env.comfyui) == []

    async def test_a_failed_generation_keeps_nothing(self, env: Env) -> None:
        ctx, _ = await env.context()
        params = ImageGenerationParams.model_validate({"prompt": PROMPT, "provider": "comfyui"})
        task = asyncio.create_task(env.handler()(ctx, params))
        await eventually(lambda: env.comfyui.pending, what="the prompt to be queued")
        await env.comfyui.fail(env.comfyui.pending[0].prompt_id, "CUDA out of memory")
        with pytest.raises(WorkflowFailed, match=r"node 3 \(KSampler\).*CUDA out of memory"):
            await asyncio.wait_for(task, timeout=5)
        async with env.harness.ctx.unit_of_work() as uow:
            assert await MediaService(uow.session, env.storage).for_job(env.owner, ctx.job_id) == []

    async def test_without_comfyui_url_the_job_says_so(self, env: Env) -> None:
        ctx, _ = await env.context()
        params = ImageGenerationParams.model_validate({"prompt": PROMPT, "provider": "comfyui"})
        with pytest.raises(WorkflowEngineNotConfigured) as caught:
            await env.handler(engine=None)(ctx, params)
        assert caught.value.message == "ComfyUI is not configured (COMFYUI_URL)"
        assert caught.value.kind is ErrorKind.NOT_FOUND

    async def test_usage_is_recorded_at_no_cost(self, env: Env) -> None:
        written: list[UsageEntry] = []

        async def write(entries: Sequence[UsageEntry]) -> None:
            written.extend(entries)

        recorder = UsageRecorder(write, interval=60)
        ctx, _ = await env.context()
        await env.run(
            env.handler(recorder=recorder), ctx, {"prompt": PROMPT, "provider": "comfyui"}
        )
        await recorder.flush()
        [entry] = written
        assert (entry.provider, entry.model, entry.kind, entry.cost_usd) == (
            "comfyui",
            CHECKPOINTS[0],
            "image",
            0.0,
        )


class TestParams:
    registry = JobRegistry()

    @classmethod
    def setup_class(cls) -> None:
        for job_type in image_job_types(None, None, None):  # type: ignore[arg-type]
            cls.registry.register(job_type)

    def test_a_checkpoint_is_no_priced_model_and_options_are_kept(self) -> None:
        params = self.registry.validate(
            IMAGE_GENERATION,
            {
                "prompt": "x",
                "provider": " ComfyUI ",
                "model": "anything.safetensors",
                "size": "512X768",
                "quality": "hd",
                "style": "vivid",
                "steps": 8,
                "negative_prompt": "blurry",
            },
        )
        dumped = params.model_dump()
        assert dumped["provider"] == "comfyui"
        assert dumped["model"] == "anything.safetensors"
        assert dumped["size"] == "512x768"
        # Quality and style mean nothing to a checkpoint: ignored, as for unstyled models.
        assert (dumped["quality"], dumped["style"]) == (None, None)
        assert (dumped["steps"], dumped["negative_prompt"]) == (8, "blurry")

    def test_the_model_and_size_default_on_comfyui(self) -> None:
        params = self.registry.validate(IMAGE_GENERATION, {"prompt": "x", "provider": "comfyui"})
        assert (params.model_dump()["model"], params.model_dump()["size"]) == (None, "1024x1024")

    @pytest.mark.parametrize(
        ("params", "param", "message"),
        [
            ({"provider": "comfyui", "size": "huge"}, "size", "WIDTHxHEIGHT"),
            ({"provider": "comfyui", "size": "100x100"}, "size", "multiples of 8"),
            ({"provider": "comfyui", "steps": 0}, "steps", ""),
            ({"provider": "comfyui", "n": 5}, "n", ""),
            ({"model": "dall-e-2", "steps": 8}, "steps", "applies to provider comfyui only"),
            ({"model": "dall-e-2", "sampler": "euler"}, "sampler", "comfyui only"),
            ({}, "model", "Field required"),
        ],
    )
    def test_refusals_name_the_field(
        self, params: dict[str, Any], param: str, message: str
    ) -> None:
        with pytest.raises(InvalidJobParams) as caught:
            self.registry.validate(IMAGE_GENERATION, {"prompt": "x", **params})
        assert caught.value.param == param
        assert message in caught.value.message


async def test_a_real_job_runs_on_the_configured_comfyui(
    harness_factory: Callable[..., Awaitable[Harness]], comfyui: ComfyFake
) -> None:
    """COMFYUI_URL set: the app's own runner takes the job to ComfyUI and keeps the images."""
    harness = await harness_factory(comfyui_url=comfyui.url)
    assert harness.ctx.workflow_engine is not None
    owner = (await harness.user("runner@example.com")).id
    created: JobRead = await harness.run(
        lambda s: s.jobs.create(
            owner,
            JobCreate(type=IMAGE_GENERATION, params={"prompt": PROMPT, "provider": "comfyui"}),
        )
    )
    await eventually(lambda: comfyui.pending, timeout=10, what="the prompt to be queued")
    await comfyui.run(comfyui.pending[0].prompt_id)

    async def finished() -> JobRead | None:
        job: JobRead = await harness.run(lambda s: s.jobs.get(owner, created.id))
        return job if job.status in ("completed", "failed", "cancelled") else None

    job = await eventually(finished, timeout=10, what="the job to finish")
    assert job.status == "completed", job
    assert job.actual_cost == 0.0
    assert job.result is not None and job.result["provider"] == "comfyui"
    [image] = job.result["images"]
    download = await harness.run(lambda s: s.media.download(owner, image["media_id"]))
    assert download.body == png()
