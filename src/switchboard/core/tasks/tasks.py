"""The `spoonfeeder_task` job: run a task by its type and keep what it made as its result.

Text tasks are one completion from the user's chat provider; image tasks are the
`image_generation` job's work (an OpenAI-compatible image API, or ComfyUI with provider
`comfyui`), done by its handler under this job's id; video and audio tasks run the
workflow the task brought on the operator's ComfyUI and keep its outputs as media.
Delivery is at least once: a task that already has its result returns it, and the image
and workflow steps find the files this job already stored instead of generating again.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.catalog.pricing import cost_usd
from switchboard.core.errors import Invalid
from switchboard.core.images.ports import ImageFetcher
from switchboard.core.images.tasks import ImageGenerationHandler, ImageGenerationParams
from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.registry import JobType
from switchboard.core.llm import ChatMessage, ChatRequest
from switchboard.core.media.ports import MediaStorage
from switchboard.core.media.service import DEFAULT_MAX_BYTES, MediaService
from switchboard.core.providers.ports import ChatProvider
from switchboard.core.providers.service import ProviderService, ProviderSetup
from switchboard.core.tasks.errors import NoWorkflow, TaskNotFound
from switchboard.core.tasks.plans import TextPlan, WorkflowPlan, plan
from switchboard.core.tasks.repository import TaskRepository
from switchboard.core.tasks.schemas import Produced, TaskType
from switchboard.core.tasks.service import SPOONFEEDER_TASK, ResultService
from switchboard.core.usage.recorder import UsageEntry, UsageRecorder
from switchboard.core.workflows.errors import WorkflowEngineNotConfigured, WorkflowProducedNothing
from switchboard.core.workflows.ports import WorkflowEngine
from switchboard.core.workflows.service import WorkflowService

# How usage records name calls made for tasks.
USAGE_SOURCE = "spoonfeeder"


class TaskJobParams(BaseModel):
    """A task's job needs nothing but its id: the task row says what to do."""

    model_config = ConfigDict(extra="forbid")


class NoModel(Invalid):
    """A text task without a model, on a provider that lists none."""

    default_code = "no_model"


class TaskHandler:
    """Runs one `spoonfeeder_task` job; see the module docstring."""

    def __init__(
        self,
        providers: ProviderSetup,
        storage: MediaStorage,
        images: ImageGenerationHandler,
        *,
        recorder: UsageRecorder | None = None,
        engine: WorkflowEngine | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._providers = providers
        self._storage = storage
        self._images = images
        self._recorder = recorder
        self._engine = engine
        self._max_bytes = max_bytes

    async def __call__(self, ctx: JobContext, _params: TaskJobParams) -> dict[str, Any]:
        """Run the task and keep its result; the job's result names it."""
        async with ctx.units() as uow:
            task = await TaskRepository(uow.session).task(ctx.owner_id, ctx.job_id)
            if task is None:
                raise TaskNotFound(ctx.job_id)
            done = await self._results(uow.session).for_task(ctx.owner_id, task.id)
            type = TaskType(task.type)
            how = plan(type, task.provider, task.prompt, task.options)
        if done is not None:
            return {"result_id": done}
        if isinstance(how, TextPlan):
            produced = await self._text(ctx, how)
        elif isinstance(how, WorkflowPlan):
            produced = await self._workflow(ctx, how)
        else:
            produced = await self._image(ctx, how)
        async with ctx.units() as uow:
            result_id = await self._results(uow.session).keep(
                ctx.owner_id, ctx.job_id, type, produced
            )
        return {"result_id": result_id, "media_id": produced.media_id}

    async def _text(self, ctx: JobContext, how: TextPlan) -> Produced:
        async with ctx.units() as uow:
            providers = ProviderService(uow.session, self._providers)
            chat = await providers.provider_for(ctx.owner_id, how.provider)
        await ctx.progress(0.1, "Generating text")
        options = how.options
        model = options.model or await _first_model(chat, how.provider)
        messages = [ChatMessage(role="user", content=how.prompt)]
        if options.system:
            messages.insert(0, ChatMessage(role="system", content=options.system))
        started = time.perf_counter()
        reply = await chat.chat(
            ChatRequest(
                model=model,
                messages=messages,
                temperature=options.temperature,
                top_p=options.top_p,
                max_tokens=options.max_tokens,
            )
        )
        elapsed = round((time.perf_counter() - started) * 1000)
        used = reply.model or model
        if self._recorder is not None and reply.usage is not None:
            self._recorder.record(
                UsageEntry(
                    user_id=ctx.owner_id,
                    source=USAGE_SOURCE,
                    provider=how.provider,
                    model=used,
                    prompt_tokens=reply.usage.prompt_tokens,
                    completion_tokens=reply.usage.completion_tokens,
                    cost_usd=cost_usd(how.provider, used, reply.usage),
                )
            )
        await ctx.progress(1.0, "Text generated")
        tokens = reply.usage.total_tokens if reply.usage else None
        metadata = {
            "model": used,
            "provider": how.provider,
            "tokens": tokens,
            "duration_ms": elapsed,
        }
        return Produced(content=reply.text, metadata=metadata)

    async def _image(self, ctx: JobContext, params: ImageGenerationParams) -> Produced:
        started = time.perf_counter()
        made = await self._images(ctx, params)
        images = [image["media_id"] for image in made["images"]]
        metadata = {
            "model": made["model"],
            "provider": made["provider"],
            "size": made["size"],
            "revised_prompt": made["revised_prompt"],
            "images": images,
            "duration_ms": round((time.perf_counter() - started) * 1000),
        }
        return Produced(media_id=images[0] if images else None, metadata=metadata)

    async def _workflow(self, ctx: JobContext, how: WorkflowPlan) -> Produced:
        if how.workflow is None:
            raise NoWorkflow(how.type.value)
        if self._engine is None:
            raise WorkflowEngineNotConfigured
        async with ctx.units() as uow:
            stored = await self._media(uow.session).for_job(ctx.owner_id, ctx.job_id)
        workflows = WorkflowService(self._engine)
        if not stored:
            started = time.perf_counter()
            run = await workflows.run(how.workflow, ctx.progress)
            if not run.images:
                raise WorkflowProducedNothing(workflows.vendor)
            async with ctx.units() as uow:
                stored = await workflows.keep(
                    self._media(uow.session),
                    ctx.owner_id,
                    run,
                    ctx.job_id,
                    attributes={"prompt_id": run.prompt_id},
                )
            elapsed: int | None = round((time.perf_counter() - started) * 1000)
        else:
            elapsed = None  # redelivered after its files were kept
        await ctx.progress(1.0, f"{how.type.value.capitalize()} generated")
        metadata = {
            "provider": workflows.vendor.lower(),
            "prompt_id": stored[0].attributes.get("prompt_id"),
            "media": [m.id for m in stored],
            "duration_ms": elapsed,
        }
        return Produced(media_id=stored[0].id, metadata=metadata)

    def _media(self, session: AsyncSession) -> MediaService:
        return MediaService(session, self._storage, max_bytes=self._max_bytes)

    def _results(self, session: AsyncSession) -> ResultService:
        return ResultService(session, self._media(session))


async def _first_model(chat: ChatProvider, provider: str) -> str:
    """The first model the provider lists, for a task that names none."""
    models = await chat.list_models()
    if not models:
        raise NoModel(
            f"Provider '{provider}' lists no models: name one in options.model",
            param="options.model",
        )
    return models[0].id


def task_job_types(
    providers: ProviderSetup,
    media_storage: MediaStorage,
    fetcher: ImageFetcher,
    *,
    recorder: UsageRecorder | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    engine: WorkflowEngine | None = None,
) -> list[JobType]:
    """The job types of the tasks domain, for the composition root to register;
    `engine` is the operator's workflow engine (None when none is configured)."""
    images = ImageGenerationHandler(
        providers, media_storage, fetcher, recorder=recorder, max_bytes=max_bytes, engine=engine
    )
    handler = TaskHandler(
        providers, media_storage, images, recorder=recorder, engine=engine, max_bytes=max_bytes
    )
    return [
        JobType(
            name=SPOONFEEDER_TASK,
            params=TaskJobParams,
            handler=handler,
            max_attempts=3,
            timeout_seconds=600.0,
        )
    ]
