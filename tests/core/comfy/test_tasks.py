"""The `comfyui_generation` job handler, run directly against the fake ComfyUI: a
submitted generation followed to `complete`, redelivery, failures and retries."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.storage import LocalMediaStorage
from switchboard.core.comfy.repository import ComfyRepository
from switchboard.core.comfy.service import COMFY_GENERATION
from switchboard.core.comfy.tasks import ComfyGenerationHandler, ComfyGenerationParams
from switchboard.core.errors import UpstreamUnavailable
from switchboard.core.events.schemas import Event, user_topic
from switchboard.core.jobs.context import JobContext
from switchboard.core.media.service import MediaService
from switchboard.core.workflows.errors import WorkflowFailed
from switchboard.core.workflows.ports import SubmittedPrompt, WorkflowEngine, WorkflowEvent
from switchboard.kit.db import unit_of_work
from switchboard.models import ComfyGeneration, Job
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.comfyui_fake import ComfyFake, png, text_to_image
from tests.fixtures.upstreams.comfyui_fixtures import engine_on

pytestmark = pytest.mark.asyncio


class _Away:
    """An engine that loses the prompt's events (ComfyUI away mid-run)."""

    vendor = "ComfyUI"

    async def follow(self, prompt: SubmittedPrompt) -> AsyncIterator[WorkflowEvent]:
        raise UpstreamUnavailable("cannot connect to ComfyUI")
        yield  # pragma: no cover (makes this an async generator)

    async def interrupt(self, prompt_id: str) -> None:
        return None


@dataclasses.dataclass
class Env:
    harness: Harness
    storage: LocalMediaStorage
    comfyui: ComfyFake
    engine: WorkflowEngine
    owner: str

    async def submitted(self) -> tuple[str, str]:
        """A generation row for a prompt queued on the fake: (generation id, prompt id)."""
        prompt = await self.engine.submit(text_to_image())
        async with self.harness.ctx.unit_of_work() as uow:
            row = ComfyGeneration(
                user_id=self.owner,
                prompt_id=prompt.prompt_id,
                client_id=prompt.client_id,
                prompt_text="a lighthouse",
                parameters={},
                seed=42,
                loras_used=[],
                workflow_json=text_to_image(),
            )
            uow.session.add(row)
            await uow.session.flush()
            return row.id, prompt.prompt_id

    async def context(self, attempt: int = 1) -> JobContext:
        async with self.harness.ctx.unit_of_work() as uow:
            job = Job(user_id=self.owner, type=COMFY_GENERATION, params={})
            uow.session.add(job)
            await uow.session.flush()
            job_id = job.id

        async def report(fraction: float, message: str | None) -> None:
            return None

        sessions = self.harness.ctx.sessions
        return JobContext(
            job_id=job_id,
            owner_id=self.owner,
            type=COMFY_GENERATION,
            attempt=attempt,
            units=lambda: unit_of_work(sessions),
            report=report,
        )

    def handler(self, engine: Any = None) -> ComfyGenerationHandler:
        return ComfyGenerationHandler(engine or self.engine, self.storage, self.harness.ctx.bus)

    async def generation(self, generation_id: str) -> ComfyGeneration:
        async with self.harness.ctx.unit_of_work() as uow:
            row = await ComfyRepository(uow.session).generation(self.owner, generation_id)
            assert row is not None
            return row


@pytest.fixture
async def env(
    harness: Harness, comfyui: ComfyFake, vendor_clients: OutboundClients, tmp_path: Path
) -> Env:
    owner = (await harness.user("painter@example.com")).id
    storage = LocalMediaStorage(tmp_path / "media")
    return Env(harness, storage, comfyui, engine_on(comfyui, vendor_clients), owner)


def _params(generation_id: str) -> ComfyGenerationParams:
    return ComfyGenerationParams(generation_id=generation_id)


async def test_a_finished_prompt_is_kept_and_redelivery_changes_nothing(env: Env) -> None:
    generation_id, prompt_id = await env.submitted()
    await env.comfyui.run(prompt_id)  # ended before the job follows it: read from history
    ctx = await env.context()
    subscription = await env.harness.ctx.bus.subscribe([user_topic(env.owner)])
    try:
        result = await env.handler()(ctx, _params(generation_id))
        completed: Event = await asyncio.wait_for(anext(aiter(subscription)), timeout=5)
        while completed.type != "generation.completed":
            completed = await asyncio.wait_for(anext(aiter(subscription)), timeout=5)
    finally:
        await subscription.close()
    outputs = [{"filename": "switchboard_00001_.png", "subfolder": "", "type": "output"}]
    assert result == {"generation_id": generation_id, "status": "complete", "outputs": outputs}
    assert completed.data["outputs"] == outputs
    row = await env.generation(generation_id)
    assert row.status == "complete" and row.completed_at is not None
    async with env.harness.ctx.unit_of_work() as uow:
        media = MediaService(uow.session, env.storage)
        stored = await media.for_job(env.owner, ctx.job_id)
        assert len(stored) == 1 and stored[0].attributes["generation_id"] == generation_id
        assert (await media.open(env.owner, stored[0].id))[1] == png()
    again = await env.handler()(ctx, _params(generation_id))
    assert again["status"] == "gone"


async def test_a_node_failure_fails_the_generation(env: Env) -> None:
    generation_id, prompt_id = await env.submitted()
    await env.comfyui.fail(prompt_id, "CUDA out of memory")
    with pytest.raises(WorkflowFailed):
        await env.handler()(await env.context(), _params(generation_id))
    row = await env.generation(generation_id)
    assert row.status == "failed"
    assert row.error == (
        "ComfyUI failed at node 3 (KSampler): torch.OutOfMemoryError: CUDA out of memory"
    )


async def test_comfyui_away_is_retried_and_fails_only_with_the_last_attempt(env: Env) -> None:
    generation_id, _ = await env.submitted()
    with pytest.raises(UpstreamUnavailable):
        await env.handler(_Away())(await env.context(attempt=1), _params(generation_id))
    assert (await env.generation(generation_id)).status == "running"
    with pytest.raises(UpstreamUnavailable):
        await env.handler(_Away())(await env.context(attempt=3), _params(generation_id))
    row = await env.generation(generation_id)
    assert (row.status, row.error) == ("failed", "cannot connect to ComfyUI")


async def test_without_an_engine_the_generation_fails_saying_so(env: Env) -> None:
    generation_id, _ = await env.submitted()
    handler = ComfyGenerationHandler(None, env.storage, env.harness.ctx.bus)
    with pytest.raises(Exception, match="not configured"):
        await handler(await env.context(), _params(generation_id))
    assert (await env.generation(generation_id)).error == "ComfyUI is not configured (COMFYUI_URL)"
