"""The tasks domain: its service over the jobs engine, and the `spoonfeeder_task` handler
run directly with a JobContext (echo and fake OpenAI providers, fake ComfyUI)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.storage import LocalMediaStorage
from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.registry import JobRegistry
from switchboard.core.media.service import MediaService
from switchboard.core.tasks.errors import (
    InvalidTask,
    NoWorkflow,
    ResultNotFound,
    TaskNotFound,
    TaskStateConflict,
)
from switchboard.core.tasks.schemas import TaskCreate, TaskFilter, TaskStatus, TaskType
from switchboard.core.tasks.service import SPOONFEEDER_TASK, ResultService, TaskService
from switchboard.core.tasks.tasks import TaskHandler, TaskJobParams, task_job_types
from switchboard.core.workflows import templates
from switchboard.core.workflows.errors import WorkflowEngineNotConfigured
from switchboard.core.workflows.ports import WorkflowEngine
from switchboard.core.workflows.service import WorkflowService
from switchboard.kit.db import unit_of_work
from switchboard.models import Job
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.comfyui_fake import ComfyFake, png
from tests.fixtures.upstreams.comfyui_fixtures import engine_on
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.upstreams.openai_fake import tiny_png
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.asyncio

PROMPT = "Write a haiku about tea"


@dataclasses.dataclass
class Env:
    harness: Harness
    storage: LocalMediaStorage
    engine: WorkflowEngine
    comfyui: ComfyFake
    owner: str

    def handler(self, *, engine: WorkflowEngine | None = None) -> TaskHandler:
        [job_type] = task_job_types(
            self.harness.ctx.providers,
            self.storage,
            self.harness.ctx.image_fetcher,
            engine=engine,
        )
        assert isinstance(job_type.handler, TaskHandler)
        return job_type.handler

    async def create(self, type: str, provider: str, **options: Any) -> str:
        """A task (and its pending job), created through the service."""
        async with self.harness.ctx.open_services() as services:
            data = TaskCreate(
                name="t", type=TaskType(type), provider=provider, prompt=PROMPT, options=options
            )
            return (await services.tasks.create(self.owner, data, source="test")).id

    def context(self, task_id: str) -> tuple[JobContext, list[tuple[float, str | None]]]:
        progress: list[tuple[float, str | None]] = []

        async def report(fraction: float, message: str | None) -> None:
            progress.append((fraction, message))

        sessions = self.harness.ctx.sessions
        ctx = JobContext(
            job_id=task_id,
            owner_id=self.owner,
            type=SPOONFEEDER_TASK,
            attempt=1,
            units=lambda: unit_of_work(sessions),
            report=report,
        )
        return ctx, progress

    async def run(self, task_id: str, handler: TaskHandler | None = None) -> dict[str, Any]:
        ctx, _ = self.context(task_id)
        return await (handler or self.handler())(ctx, TaskJobParams())

    async def result(self, result_id: str) -> Any:
        async with self.harness.ctx.open_services() as services:
            return await services.results.get(self.owner, result_id)

    async def set_job(self, task_id: str, status: str) -> None:
        async with self.harness.ctx.unit_of_work() as uow:
            await uow.session.execute(update(Job).where(Job.id == task_id).values(status=status))


@pytest.fixture
async def env(
    harness_factory: Callable[..., Awaitable[Harness]],
    openai_upstream: FakeUpstream,
    comfyui: ComfyFake,
    vendor_clients: OutboundClients,
    tmp_path: Path,
) -> Env:
    """Jobs do not run in the app: each test runs the handler itself."""
    harness = await harness_factory(
        openai_api_key=OPENAI_TEST_KEY,
        openai_base_url=f"{openai_upstream.url}/v1",
        jobs_in_process="off",
    )
    owner = (await harness.user("tasks@example.com")).id
    storage = LocalMediaStorage(tmp_path / "media")
    return Env(harness, storage, engine_on(comfyui, vendor_clients), comfyui, owner)


class TestHandler:
    async def test_a_text_task_keeps_the_reply_once(self, env: Env) -> None:
        task_id = await env.create("text", "echo", system="Be brief", max_tokens=50)
        ctx, progress = env.context(task_id)
        first = await env.handler()(ctx, TaskJobParams())
        result = await env.result(first["result_id"])
        assert result.task_id == task_id and result.type is TaskType.TEXT
        assert PROMPT in (result.content or "")
        assert result.metadata["provider"] == "echo" and result.metadata["model"]
        assert progress[-1] == (1.0, "Text generated")
        # Redelivered: the same result, nothing generated again.
        assert await env.run(task_id) == {"result_id": first["result_id"]}

    async def test_openai_text_uses_the_options_model(
        self, env: Env, openai_upstream: FakeUpstream
    ) -> None:
        task_id = await env.create("text", "openai", model="gpt-4o-mini", temperature=0.2)
        result = await env.result((await env.run(task_id))["result_id"])
        [sent] = [r.body for r in openai_upstream.requests if "chat" in r.path]
        assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.2
        assert result.metadata["tokens"] > 0

    async def test_an_image_task_keeps_its_image_as_media(self, env: Env) -> None:
        task_id = await env.create("image", "openai", model="dall-e-2", size="256x256")
        made = await env.run(task_id)
        result = await env.result(made["result_id"])
        assert result.type is TaskType.IMAGE and result.media_id == made["media_id"]
        async with env.harness.ctx.unit_of_work() as uow:
            read, data = await MediaService(uow.session, env.storage).open(
                env.owner, made["media_id"]
            )
        assert data == tiny_png() and read.job_id == task_id

    async def test_a_video_task_without_a_workflow_fails_clearly(self, env: Env) -> None:
        task_id = await env.create("video", "comfyui")
        with pytest.raises(NoWorkflow) as caught:
            await env.run(task_id, env.handler(engine=env.engine))
        assert caught.value.message.startswith("No ComfyUI workflow configured for video tasks")

    async def test_a_workflow_without_comfyui_says_so(self, env: Env) -> None:
        task_id = await env.create("audio", "comfyui", workflow={"1": {"class_type": "X"}})
        with pytest.raises(WorkflowEngineNotConfigured):
            await env.run(task_id)

    async def test_a_video_task_runs_its_workflow_on_comfyui(self, env: Env) -> None:
        request = await WorkflowService(env.engine).text_to_image("waves")
        workflow = templates.text_to_image_workflow(request)
        task_id = await env.create("video", "comfyui", workflow=workflow)
        running = asyncio.create_task(env.run(task_id, env.handler(engine=env.engine)))

        def queued() -> str | None:
            if running.done():
                running.result()
            return env.comfyui.pending[0].prompt_id if env.comfyui.pending else None

        await env.comfyui.run(await eventually(queued, what="the workflow to be queued"))
        made = await asyncio.wait_for(running, timeout=5)
        result = await env.result(made["result_id"])
        assert result.type is TaskType.VIDEO and result.media_id
        assert result.metadata["provider"] == "comfyui"
        async with env.harness.ctx.unit_of_work() as uow:
            _, data = await MediaService(uow.session, env.storage).open(env.owner, result.media_id)
        assert data == png()

    async def test_a_task_that_is_gone_fails(self, env: Env) -> None:
        async with env.harness.ctx.unit_of_work() as uow:
            job = Job(user_id=env.owner, type=SPOONFEEDER_TASK, params={})
            uow.session.add(job)
            await uow.session.flush()
            job_id = job.id
        with pytest.raises(TaskNotFound):
            await env.run(job_id)

    async def test_the_job_type_registers(self, env: Env) -> None:
        registry = JobRegistry()
        for job_type in task_job_types(
            env.harness.ctx.providers, env.storage, env.harness.ctx.image_fetcher
        ):
            registry.register(job_type)
        assert SPOONFEEDER_TASK in registry.names()
        assert SPOONFEEDER_TASK in env.harness.ctx.jobs.registry.names()


class TestService:
    async def test_creation_checks_provider_and_options(self, env: Env) -> None:
        with pytest.raises(InvalidTask, match="Unknown text provider"):
            await env.create("text", "nowhere")
        with pytest.raises(InvalidTask) as caught:
            await env.create("image", "openai", model="not-a-model")
        assert caught.value.param == "options.model"
        with pytest.raises(InvalidTask):
            await env.create("audio", "openai")
        with pytest.raises(InvalidTask):
            await env.create("video", "comfyui", workflow="not a graph")

    async def test_a_task_reads_its_jobs_state(self, env: Env) -> None:
        task_id = await env.create("text", "claude")
        async with env.harness.ctx.open_services() as services:
            task = await services.tasks.get(env.owner, task_id)
            assert task.status is TaskStatus.PENDING and task.provider == "claude"
            job = await services.jobs.get(env.owner, task_id)
            assert job.type == SPOONFEEDER_TASK
        await env.set_job(task_id, "completed")
        async with env.harness.ctx.open_services() as services:
            assert (await services.tasks.get(env.owner, task_id)).status is TaskStatus.COMPLETE

    async def test_cancel_then_delete(self, env: Env) -> None:
        task_id = await env.create("text", "echo")
        async with env.harness.ctx.open_services() as services:
            assert await services.tasks.remove(env.owner, task_id) is TaskStatus.PENDING
        async with env.harness.ctx.open_services() as services:
            assert (await services.tasks.get(env.owner, task_id)).status is TaskStatus.CANCELLED
            assert await services.tasks.remove(env.owner, task_id) is TaskStatus.CANCELLED
        async with env.harness.ctx.open_services() as services:
            with pytest.raises(TaskNotFound):
                await services.tasks.get(env.owner, task_id)

    async def test_deleting_a_finished_task_takes_its_result(self, env: Env) -> None:
        task_id = await env.create("text", "echo")
        result_id = (await env.run(task_id))["result_id"]
        await env.set_job(task_id, "completed")
        async with env.harness.ctx.open_services() as services:
            await services.tasks.remove(env.owner, task_id)
        async with env.harness.ctx.open_services() as services:
            assert await services.results.for_task(env.owner, task_id) is None
            with pytest.raises(ResultNotFound):
                await services.results.get(env.owner, result_id)

    async def test_retry_only_failed_tasks_and_count_them(self, env: Env) -> None:
        task_id = await env.create("text", "echo")
        async with env.harness.ctx.open_services() as services:
            with pytest.raises(TaskStateConflict):
                await services.tasks.retry(env.owner, task_id)
        await env.set_job(task_id, "failed")
        async with env.harness.ctx.open_services() as services:
            retried = await services.tasks.retry(env.owner, task_id)
        assert retried.status is TaskStatus.PENDING and retried.retry_count == 1
        assert retried.error is None

    async def test_another_users_tasks_are_not_found(self, env: Env) -> None:
        task_id = await env.create("text", "echo")
        other = (await env.harness.user("other@example.com")).id
        async with env.harness.ctx.open_services() as services:
            tasks: TaskService = services.tasks
            results: ResultService = services.results
            for call in (tasks.get, tasks.remove, tasks.retry):
                with pytest.raises(TaskNotFound):
                    await call(other, task_id)
            page = await tasks.list_tasks(other, TaskFilter())
            assert page.items == [] and page.total == 0
            assert (await results.list_results(other)).total == 0

    async def test_search_takes_wildcards_literally(self, env: Env) -> None:
        await env.create("text", "echo")
        async with env.harness.ctx.open_services() as services:
            for search, count in (("HAIKU", 1), ("%", 0), ("_", 0), ("haiku about", 1)):
                found = TaskFilter(search=search)
                assert (await services.tasks.list_tasks(env.owner, found)).total == count, search
