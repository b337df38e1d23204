"""The `comfyui_generation` job: follow a submitted generation on ComfyUI to its end.

Progress goes to the job (and its events) and, as `generation.progress`, to the owner's
topic. On success the images are kept as the owner's media (carrying the job's id) and
the generation becomes `complete` with its outputs, all in one unit of work; on failure
it becomes `failed` with ComfyUI's message. Delivery is at least once: a generation that
is no longer running is left as it is, and following again a prompt that ended reads
its end from ComfyUI's history. Retryable errors (ComfyUI away for a moment) are
retried by the jobs engine; the generation fails only with the last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from switchboard.core.comfy import events
from switchboard.core.comfy.repository import COMPLETE, FAILED, RUNNING, ComfyRepository
from switchboard.core.comfy.service import COMFY_GENERATION
from switchboard.core.errors import RETRYABLE_KINDS, SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.registry import JobType
from switchboard.core.media.ports import MediaStorage
from switchboard.core.media.service import DEFAULT_MAX_BYTES, MediaService
from switchboard.core.workflows.errors import WorkflowEngineNotConfigured, WorkflowProducedNothing
from switchboard.core.workflows.ports import SubmittedPrompt, WorkflowEngine
from switchboard.core.workflows.service import WorkflowRun, WorkflowService
from switchboard.kit.clock import utcnow
from switchboard.models import ComfyGeneration, ComfyOutput

MAX_ATTEMPTS = 3
# ComfyUI's adapter gives up following one prompt after an hour; the job a little later.
TIMEOUT_SECONDS = 3700.0


class ComfyGenerationParams(BaseModel):
    """Parameters of a `comfyui_generation` job: the generation it follows."""

    model_config = ConfigDict(extra="forbid")

    generation_id: str = Field(min_length=1, max_length=64)


@dataclass(frozen=True, slots=True)
class _Followed:
    """What the handler needs of the generation, read before ComfyUI is called."""

    prompt: SubmittedPrompt
    session_id: str | None


class ComfyGenerationHandler:
    """Runs one `comfyui_generation` job; see the module docstring."""

    def __init__(
        self,
        engine: WorkflowEngine | None,
        storage: MediaStorage,
        bus: EventBus,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._engine = engine
        self._storage = storage
        self._bus = bus
        self._max_bytes = max_bytes

    async def __call__(self, ctx: JobContext, params: ComfyGenerationParams) -> dict[str, Any]:
        """Follow the generation, keep its images, finish its row; the job's result."""
        followed = await self._running(ctx, params.generation_id)
        if followed is None:
            return {"generation_id": params.generation_id, "status": "gone"}
        ids = {"generationId": params.generation_id, "sessionId": followed.session_id}
        try:
            if self._engine is None:
                raise WorkflowEngineNotConfigured
            workflows = WorkflowService(self._engine)

            async def progress(fraction: float, message: str | None) -> None:
                await ctx.progress(fraction, message)
                data = ids | {"progress": round(fraction, 3), "message": message}
                await events.publish_generation_event(
                    self._bus, ctx.owner_id, events.PROGRESS, data
                )

            run = await workflows.finish(followed.prompt, progress)
            if not run.images:
                raise WorkflowProducedNothing(workflows.vendor)
        except SwitchboardError as exc:
            if exc.kind not in RETRYABLE_KINDS or ctx.attempt >= MAX_ATTEMPTS:
                await self._fail(ctx, params.generation_id, exc.message)
                await events.publish_generation_event(
                    self._bus, ctx.owner_id, events.FAILED, ids | {"error": exc.message}
                )
            raise
        outputs = await self._keep(ctx, params.generation_id, workflows, run)
        await events.publish_generation_event(
            self._bus, ctx.owner_id, events.COMPLETED, ids | {"outputs": outputs}
        )
        await ctx.progress(1.0, "Generation complete")
        return {"generation_id": params.generation_id, "status": COMPLETE, "outputs": outputs}

    async def _running(self, ctx: JobContext, generation_id: str) -> _Followed | None:
        """The generation's prompt, or None when it is gone or no longer running."""
        async with ctx.units() as uow:
            row = await ComfyRepository(uow.session).generation(ctx.owner_id, generation_id)
            if row is None or row.status != RUNNING:
                return None
            return _Followed(SubmittedPrompt(row.prompt_id, row.client_id), row.session_id)

    async def _keep(
        self, ctx: JobContext, generation_id: str, workflows: WorkflowService, run: WorkflowRun
    ) -> list[dict[str, str]]:
        """Store the images and finish the row in one unit of work."""
        async with ctx.units() as uow:
            repo = ComfyRepository(uow.session)
            row = await repo.generation(ctx.owner_id, generation_id)
            if row is None or row.status != RUNNING:
                return []  # deleted (or finished elsewhere) while it ran
            media = MediaService(uow.session, self._storage, max_bytes=self._max_bytes)
            kept = {"generation_id": row.id, "seed": row.seed, "model": row.checkpoint_name}
            saved = await workflows.keep(media, ctx.owner_id, run, ctx.job_id, attributes=kept)
            outputs = []
            for position, (image, stored) in enumerate(zip(run.images, saved, strict=True)):
                name = {
                    "filename": image.image.filename,
                    "subfolder": image.image.subfolder,
                    "type": image.image.type,
                }
                repo.add(
                    ComfyOutput(
                        user_id=ctx.owner_id,
                        generation_id=row.id,
                        media_id=stored.id,
                        position=position,
                        **name,
                    )
                )
                outputs.append(name)
            _finish(row, COMPLETE, None)
            await repo.flush()
        return outputs

    async def _fail(self, ctx: JobContext, generation_id: str, message: str) -> None:
        async with ctx.units() as uow:
            repo = ComfyRepository(uow.session)
            row = await repo.generation(ctx.owner_id, generation_id)
            if row is not None and row.status == RUNNING:
                _finish(row, FAILED, message)
                await repo.flush()


def _finish(row: ComfyGeneration, status: str, error: str | None) -> None:
    now = utcnow()
    row.status = status
    row.error = error
    row.completed_at = now
    row.generation_time_seconds = round((now - row.created_at).total_seconds(), 3)


def comfy_job_types(
    engine: WorkflowEngine | None,
    storage: MediaStorage,
    bus: EventBus,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[JobType]:
    """The ComfyUI workspace's job types (`comfyui_generation`)."""
    handler = ComfyGenerationHandler(engine, storage, bus, max_bytes=max_bytes)
    return [
        JobType(
            COMFY_GENERATION,
            ComfyGenerationParams,
            handler,
            max_attempts=MAX_ATTEMPTS,
            timeout_seconds=TIMEOUT_SECONDS,
        )
    ]
