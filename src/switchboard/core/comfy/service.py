"""Spoon Feeder's ComfyUI workspace inside the caller's unit of work.

A generation is submitted to ComfyUI while the caller waits (so a ComfyUI that is down
is a 503 at once) and then followed by a `comfyui_generation` job (`tasks.py`), which
keeps the images as media and finishes the row. Counts are computed from the
generations, so they are always current. ComfyUI is the operator's engine
(`COMFYUI_URL`); no unit of work is held open while it is called.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.comfy import parameters as params
from switchboard.core.comfy.errors import (
    ComfyNotConfigured,
    ComfySessionNotFound,
    ComfyUnreachable,
    ComfyWorkflowNotFound,
    GenerationNotFound,
    ImageNotFound,
)
from switchboard.core.comfy.events import STARTED, publish_generation_event
from switchboard.core.comfy.repository import RUNNING, ComfyRepository, Counts
from switchboard.core.comfy.schemas import (
    ComfyOptions,
    GenerateInput,
    GenerationParameters,
    GenerationRead,
    GenerationWorkflow,
    OutputRead,
    SessionCreate,
    SessionRead,
    SessionUpdate,
    WorkflowCreate,
    WorkflowDefaults,
    WorkflowRead,
    WorkflowUpdate,
)
from switchboard.core.errors import Invalid, SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.jobs.errors import JobNotFound, JobStateConflict
from switchboard.core.jobs.schemas import JobCreate
from switchboard.core.jobs.service import JobService
from switchboard.core.media.errors import MediaNotFound
from switchboard.core.media.schemas import MediaDownload
from switchboard.core.media.service import MediaService
from switchboard.core.workflows import templates
from switchboard.core.workflows.errors import WorkflowEngineUnreachable, WorkflowRejected
from switchboard.core.workflows.ports import WorkflowEngine
from switchboard.core.workflows.service import WorkflowService
from switchboard.kit.clock import Clock, utcnow
from switchboard.kit.ids import canonical_id
from switchboard.models import ComfyGeneration, ComfySession, ComfyWorkflow

log = structlog.get_logger(__name__)

# The job that follows a submitted generation (registered by `tasks.comfy_job_types`).
COMFY_GENERATION = "comfyui_generation"
# The sizes Spoon Feeder offers (SDXL's native sizes and the common smaller ones).
DIMENSIONS = [512, 768, 832, 896, 1024, 1152, 1216, 1344, 1536]
RECENT_GENERATIONS = 50
# ComfyUI outputs are plain names; anything else is refused before any lookup.
OUTPUT_TYPES = frozenset({"output", "input", "temp"})
MAX_NAME = 255

Checkpoint = Callable[[], Awaitable[None]]
AfterCommit = Callable[[Callable[[], Awaitable[None]]], None]


class ComfyService:
    """One user's ComfyUI sessions, workflows and generations."""

    def __init__(
        self,
        session: AsyncSession,
        engine: WorkflowEngine | None,
        media: MediaService,
        jobs: JobService,
        bus: EventBus,
        *,
        after_commit: AfterCommit,
        checkpoint: Checkpoint,
        source: str | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._repo = ComfyRepository(session)
        self._engine = engine
        self._media = media
        self._jobs = jobs
        self._bus = bus
        self._after_commit = after_commit
        # Commits the caller's unit of work before ComfyUI is called.
        self._checkpoint = checkpoint
        self._source = source
        self._clock = clock

    # -- options -------------------------------------------------------------------------
    async def options(self) -> ComfyOptions:
        """Samplers, schedulers, checkpoints and LoRAs ComfyUI offers, and the sizes."""
        async with self._engine_errors():
            info = await self._workflows().object_info()
        return ComfyOptions(
            samplers=list(info.samplers),
            schedulers=list(info.schedulers),
            dimensions=list(DIMENSIONS),
            checkpoints=list(info.checkpoints),
            loras=list(info.loras),
        )

    # -- sessions ------------------------------------------------------------------------
    async def list_sessions(self, owner_id: str) -> list[SessionRead]:
        """The owner's sessions, most recently used first, with their counts."""
        await self._settle(owner_id)
        rows = await self._repo.sessions(owner_id)
        counts = await self._repo.session_counts(owner_id, [row.id for row in rows])
        return [_session_read(row, counts) for row in rows]

    async def create_session(self, owner_id: str, data: SessionCreate) -> SessionRead:
        """A new, empty session."""
        row = ComfySession(
            user_id=owner_id, title=data.title, profile_id=data.profile_id, last_parameters={}
        )
        self._repo.add(row)
        await self._repo.flush()
        return _session_read(row, {})

    async def get_session(self, owner_id: str, session_id: str) -> SessionRead:
        """The session with its counts and its most recent generations."""
        await self._settle(owner_id)
        row = await self._session(owner_id, session_id)
        counts = await self._repo.session_counts(owner_id, [row.id])
        recent = await self._repo.generations_of_session(owner_id, row.id, RECENT_GENERATIONS)
        read = _session_read(row, counts)
        read.generations = await self._generation_reads(recent)
        return read

    async def update_session(
        self, owner_id: str, session_id: str, data: SessionUpdate
    ) -> SessionRead:
        """Rename the session or choose its current workflow."""
        row = await self._session(owner_id, session_id)
        if data.title is not None:
            row.title = data.title
        if data.current_workflow_id is not None:
            row.current_workflow_id = (await self._workflow(owner_id, data.current_workflow_id)).id
        row.updated_at = self._clock()
        await self._repo.flush()
        counts = await self._repo.session_counts(owner_id, [row.id])
        return _session_read(row, counts)

    async def delete_session(self, owner_id: str, session_id: str) -> None:
        """Delete the session, its generations and their images (stopping running ones)."""
        row = await self._session(owner_id, session_id)
        generations = await self._repo.generations_of_session(owner_id, row.id)
        await self._discard(owner_id, generations)
        await self._repo.delete(row)
        await self._repo.flush()

    # -- workflows -----------------------------------------------------------------------
    async def list_workflows(self, owner_id: str) -> list[WorkflowRead]:
        """The owner's workflows (without their graphs), the default first."""
        rows = await self._repo.workflows(owner_id)
        counts = await self._repo.workflow_counts(owner_id, [row.id for row in rows])
        return [_workflow_read(row, counts, with_graph=False) for row in rows]

    async def create_workflow(self, owner_id: str, data: WorkflowCreate) -> WorkflowRead:
        """Save a workflow; its parameters are found in its graph."""
        graph = params.checked_graph(data.workflow_json)
        row = ComfyWorkflow(
            user_id=owner_id,
            name=data.name,
            description=data.description,
            profile_id=data.profile_id,
            workflow_json=graph,
            default_parameters=data.default_parameters.given(),
            extracted_parameters=params.extract(graph),
            is_default=False,
        )
        self._repo.add(row)
        await self._repo.flush()
        return _workflow_read(row, {}, with_graph=True)

    async def get_workflow(self, owner_id: str, workflow_id: str) -> WorkflowRead:
        """The workflow with its graph."""
        row = await self._workflow(owner_id, workflow_id)
        counts = await self._repo.workflow_counts(owner_id, [row.id])
        return _workflow_read(row, counts, with_graph=True)

    async def update_workflow(
        self, owner_id: str, workflow_id: str, data: WorkflowUpdate
    ) -> WorkflowRead:
        """Rename, describe or replace the graph of a workflow."""
        row = await self._workflow(owner_id, workflow_id)
        if data.name is not None:
            row.name = data.name
        if data.description is not None:
            row.description = data.description
        if data.workflow_json is not None:
            row.workflow_json = params.checked_graph(data.workflow_json)
            row.extracted_parameters = params.extract(row.workflow_json)
        return await self._saved(owner_id, row)

    async def set_defaults(
        self, owner_id: str, workflow_id: str, data: WorkflowDefaults
    ) -> WorkflowRead:
        """Set the workflow's default parameters; marking it default unmarks any other."""
        row = await self._workflow(owner_id, workflow_id)
        if data.default_parameters is not None:
            row.default_parameters = data.default_parameters.given()
        if data.is_default is True and not row.is_default:
            await self._repo.clear_default(owner_id)
            row.is_default = True
        elif data.is_default is False:
            row.is_default = False
        return await self._saved(owner_id, row)

    async def delete_workflow(self, owner_id: str, workflow_id: str) -> None:
        """Delete the workflow; its generations stay, without a workflow."""
        await self._repo.delete(await self._workflow(owner_id, workflow_id))
        await self._repo.flush()

    async def workflow_generations(self, owner_id: str, workflow_id: str) -> list[GenerationRead]:
        """The workflow's most recent generations."""
        await self._settle(owner_id)
        row = await self._workflow(owner_id, workflow_id)
        rows = await self._repo.generations_of_workflow(owner_id, row.id, RECENT_GENERATIONS)
        return await self._generation_reads(rows)

    # -- generating ----------------------------------------------------------------------
    async def generate(self, owner_id: str, session_id: str, data: GenerateInput) -> GenerationRead:
        """Submit a generation in a session; it is followed in the background.

        Parameters: the defaults (the chosen workflow's, or Spoon Feeder's for the
        built-in graph), then the session's last ones, then the request's. A seed of -1
        becomes a random seed, returned in the generation. The workflow is the request's,
        else the session's current one, else ComfyUI's default text-to-image graph.
        """
        session = await self._session(owner_id, session_id)
        workflow = None
        if data.workflow_id is not None:
            workflow = await self._workflow(owner_id, data.workflow_id)
        elif session.current_workflow_id is not None:
            workflow = await self._repo.workflow(owner_id, session.current_workflow_id)
        asked = params.merge(
            workflow.default_parameters if workflow else params.DEFAULTS,
            session.last_parameters,
            data.parameters.given(),
        )
        values = _checked(asked)
        session.last_parameters = asked
        if workflow is not None:
            session.current_workflow_id = workflow.id
        session.updated_at = self._clock()
        return await self._submit(
            owner_id, session, workflow, values, data.prompt_text, data.negative_prompt
        )

    async def execute(
        self,
        owner_id: str,
        workflow_id: str,
        parameters: GenerationParameters,
        prompt_text: str | None = None,
        negative_prompt: str | None = None,
    ) -> GenerationRead:
        """Run a saved workflow outside any session: its defaults, then `parameters`;
        the prompts replace the graph's when given."""
        workflow = await self._workflow(owner_id, workflow_id)
        values = _checked(params.merge(workflow.default_parameters, parameters.given()))
        return await self._submit(owner_id, None, workflow, values, prompt_text, negative_prompt)

    async def submit_prompt(
        self,
        owner_id: str,
        session_id: str | None,
        prompt: str | dict[str, Any],
        negative_prompt: str | None = None,
    ) -> GenerationRead:
        """The legacy submission: a text prompt (generated as in a session, or with the
        defaults when no session is named) or a whole API-format graph, run as is."""
        if isinstance(prompt, str):
            if session_id is not None:
                data = GenerateInput(prompt_text=prompt, negative_prompt=negative_prompt)
                return await self.generate(owner_id, session_id, data)
            values = _checked(dict(params.DEFAULTS))
            return await self._submit(owner_id, None, None, values, prompt, negative_prompt)
        graph = params.checked_graph(prompt, param="prompt")
        session = await self._session(owner_id, session_id) if session_id is not None else None
        return await self._submit_graph(owner_id, session, None, graph, {})

    async def _submit(
        self,
        owner_id: str,
        session: ComfySession | None,
        workflow: ComfyWorkflow | None,
        values: GenerationParameters,
        prompt_text: str | None,
        negative_prompt: str | None,
    ) -> GenerationRead:
        """Build the graph for `values` (the seed resolved) and submit it."""
        chosen = values.given()
        chosen["seed"] = params.resolve_seed(values.seed)
        if workflow is None:
            graph = await self._built_in(chosen, prompt_text or "", negative_prompt)
            chosen["checkpoint_name"] = params.describe(graph).get("checkpoint_name")
        else:
            prompts = {params.POSITIVE: prompt_text, params.NEGATIVE: negative_prompt}
            graph = params.apply(
                workflow.workflow_json, workflow.extracted_parameters, chosen | prompts
            )
        return await self._submit_graph(owner_id, session, workflow, graph, chosen)

    async def _built_in(
        self, chosen: dict[str, Any], prompt_text: str, negative_prompt: str | None
    ) -> dict[str, Any]:
        """ComfyUI's default text-to-image graph, checked against what it offers."""
        await self._checkpoint()
        async with self._engine_errors():
            request = await self._workflows().text_to_image(
                prompt_text,
                checkpoint=chosen.get("checkpoint_name"),
                size=f"{chosen['width']}x{chosen['height']}",
                negative_prompt=negative_prompt,
                steps=chosen["steps"],
                cfg=chosen["cfg_scale"],
                sampler=chosen["sampler_name"],
                scheduler=chosen["scheduler"],
                seed=chosen["seed"],
                batch=chosen["batch_size"],
            )
        return templates.text_to_image_workflow(request)

    async def _submit_graph(
        self,
        owner_id: str,
        session: ComfySession | None,
        workflow: ComfyWorkflow | None,
        graph: dict[str, Any],
        chosen: dict[str, Any],
    ) -> GenerationRead:
        """Queue `graph` on ComfyUI, record the generation and start following it."""
        engine = self._workflows()
        await self._checkpoint()
        async with self._engine_errors():
            submitted = await engine.submit(graph)
        described = params.describe(graph)
        row = ComfyGeneration(
            user_id=owner_id,
            session_id=session.id if session else None,
            workflow_id=workflow.id if workflow else None,
            prompt_id=submitted.prompt_id,
            client_id=submitted.client_id,
            prompt_text=described.get(params.POSITIVE) or "",
            negative_prompt=described.get(params.NEGATIVE),
            parameters=params.merge(_graph_values(described), chosen),
            width=described.get("width"),
            height=described.get("height"),
            steps=described.get("steps"),
            cfg_scale=described.get("cfg_scale"),
            seed=described.get("seed"),
            sampler_name=described.get("sampler_name"),
            scheduler=described.get("scheduler"),
            batch_size=described.get("batch_size"),
            checkpoint_name=described.get("checkpoint_name"),
            loras_used=described["loras_used"],
            workflow_json=graph,
            status=RUNNING,
        )
        self._repo.add(row)
        await self._repo.flush()
        job = await self._jobs.create(
            owner_id,
            JobCreate(type=COMFY_GENERATION, params={"generation_id": row.id}, source=self._source),
        )
        row.job_id = job.id
        await self._repo.flush()
        self._announce(owner_id, row)
        return _generation_read(row, [])

    def _announce(self, owner_id: str, row: ComfyGeneration) -> None:
        data = {"generationId": row.id, "promptId": row.prompt_id, "sessionId": row.session_id}
        bus = self._bus

        async def started() -> None:
            await publish_generation_event(bus, owner_id, STARTED, data)

        self._after_commit(started)

    # -- generations ---------------------------------------------------------------------
    async def get_generation(self, owner_id: str, generation_id: str) -> GenerationRead:
        """One generation with its outputs."""
        await self._settle(owner_id)
        row = await self._generation(owner_id, generation_id)
        return (await self._generation_reads([row]))[0]

    async def generation_workflow(self, owner_id: str, generation_id: str) -> GenerationWorkflow:
        """The exact graph the generation submitted, for reproducing it."""
        row = await self._generation(owner_id, generation_id)
        return GenerationWorkflow(
            generation_id=row.id,
            workflow_json=row.workflow_json,
            parameters=row.parameters,
            prompt_text=row.prompt_text,
            negative_prompt=row.negative_prompt,
        )

    async def delete_generation(self, owner_id: str, generation_id: str) -> None:
        """Delete the generation and its images (stopping it if it still runs)."""
        row = await self._generation(owner_id, generation_id)
        await self._discard(owner_id, [row])
        await self._repo.delete(row)
        await self._repo.flush()

    async def image(self, owner_id: str, filename: str, subfolder: str, kind: str) -> MediaDownload:
        """An output image of the owner's generations, by ComfyUI's name for it, from
        switchboard's media storage. Names are matched exactly, never used as paths;
        anything that is not a plain name is not found."""
        if not (_plain_name(filename) and (subfolder == "" or _plain_name(subfolder))):
            raise ImageNotFound
        if kind not in OUTPUT_TYPES:
            raise ImageNotFound
        output = await self._repo.output_named(owner_id, filename, subfolder, kind)
        if output is None:
            raise ImageNotFound
        try:
            return await self._media.download(owner_id, output.media_id)
        except MediaNotFound:
            raise ImageNotFound from None

    # -- internals -----------------------------------------------------------------------
    def _workflows(self) -> WorkflowService:
        if self._engine is None:
            raise ComfyNotConfigured
        return WorkflowService(self._engine)

    @asynccontextmanager
    async def _engine_errors(self) -> AsyncIterator[None]:
        """ComfyUI unreachable in the words clients know; a graph it refuses is the
        caller's to fix (400)."""
        try:
            yield
        except WorkflowEngineUnreachable:
            raise ComfyUnreachable from None
        except WorkflowRejected as exc:
            raise Invalid(exc.message, code=exc.code, param="workflow") from None

    async def _settle(self, owner_id: str) -> None:
        await self._repo.settle_abandoned(owner_id, self._clock())

    async def _discard(self, owner_id: str, rows: Sequence[ComfyGeneration]) -> None:
        """Stop the running ones and delete every image."""
        for row in rows:
            if row.status == RUNNING and row.job_id is not None:
                # It may have finished (or its job been deleted) meanwhile.
                with contextlib.suppress(JobStateConflict, JobNotFound):
                    await self._jobs.cancel(owner_id, row.job_id)
                self._interrupt_after_commit(row.prompt_id)
        for media_id in await self._repo.media_ids_of(owner_id, [row.id for row in rows]):
            await self._media.delete(owner_id, media_id)

    def _interrupt_after_commit(self, prompt_id: str) -> None:
        """Interrupt the prompt on ComfyUI once the deletion is committed.

        The cancelled job interrupts it too, when its handler is told in time; a job still
        pending, or told only at its next lease renewal, would leave the GPU drawing for
        nobody meanwhile. Interrupting twice is harmless (the engine checks its queue).
        """
        engine = self._engine
        if engine is None:
            return

        async def interrupt() -> None:
            try:
                await engine.interrupt(prompt_id)
            except SwitchboardError as exc:
                log.warning("comfyui_interrupt_failed", prompt_id=prompt_id, error=exc.code)

        self._after_commit(interrupt)

    async def _saved(self, owner_id: str, row: ComfyWorkflow) -> WorkflowRead:
        row.updated_at = self._clock()
        await self._repo.flush()
        counts = await self._repo.workflow_counts(owner_id, [row.id])
        return _workflow_read(row, counts, with_graph=True)

    async def _session(self, owner_id: str, session_id: str) -> ComfySession:
        key = canonical_id(session_id)
        row = await self._repo.session(owner_id, key) if key else None
        if row is None:
            raise ComfySessionNotFound(session_id)
        return row

    async def _workflow(self, owner_id: str, workflow_id: str) -> ComfyWorkflow:
        key = canonical_id(workflow_id)
        row = await self._repo.workflow(owner_id, key) if key else None
        if row is None:
            raise ComfyWorkflowNotFound(workflow_id)
        return row

    async def _generation(self, owner_id: str, generation_id: str) -> ComfyGeneration:
        key = canonical_id(generation_id)
        row = await self._repo.generation(owner_id, key) if key else None
        if row is None:
            raise GenerationNotFound(generation_id)
        return row

    async def _generation_reads(self, rows: Sequence[ComfyGeneration]) -> list[GenerationRead]:
        outputs = await self._repo.outputs_of([row.id for row in rows])
        return [
            _generation_read(
                row,
                [
                    OutputRead(filename=o.filename, subfolder=o.subfolder, type=o.type)
                    for o in outputs[row.id]
                ],
            )
            for row in rows
        ]


def _checked(values: dict[str, Any]) -> GenerationParameters:
    """Merged parameters checked as a whole (a stored layer may predate a bound)."""
    return GenerationParameters.model_validate(
        {k: v for k, v in values.items() if k in GenerationParameters.model_fields}
    )


def _graph_values(described: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in described.items()
        if k in GenerationParameters.model_fields and not isinstance(v, list)
    }


def _plain_name(name: str) -> bool:
    """A single path segment of safe characters: no separators (raw or encoded, which
    arrive decoded here), no `..`, no NUL, no leading dot."""
    if not name or len(name) > MAX_NAME or name.startswith("."):
        return False
    return all(c.isalnum() or c in "-_. ()" for c in name) and ".." not in name


def _session_read(row: ComfySession, counts: Counts) -> SessionRead:
    total, complete, failed = counts.get(row.id, (0, 0, 0))
    return SessionRead(
        id=row.id,
        profile_id=row.profile_id,
        title=row.title,
        current_workflow_id=row.current_workflow_id,
        last_parameters=row.last_parameters,
        generation_count=total,
        completed_count=complete,
        failed_count=failed,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _workflow_read(row: ComfyWorkflow, counts: Counts, *, with_graph: bool) -> WorkflowRead:
    return WorkflowRead(
        id=row.id,
        name=row.name,
        description=row.description,
        profile_id=row.profile_id,
        is_default=row.is_default,
        generation_count=counts.get(row.id, (0, 0, 0))[0],
        default_parameters=row.default_parameters,
        extracted_parameters=row.extracted_parameters,
        workflow_json=row.workflow_json if with_graph else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _generation_read(row: ComfyGeneration, outputs: list[OutputRead]) -> GenerationRead:
    return GenerationRead(
        id=row.id,
        session_id=row.session_id,
        workflow_id=row.workflow_id,
        prompt_id=row.prompt_id,
        prompt_text=row.prompt_text,
        negative_prompt=row.negative_prompt,
        parameters=row.parameters,
        width=row.width,
        height=row.height,
        steps=row.steps,
        cfg_scale=row.cfg_scale,
        seed=row.seed,
        sampler_name=row.sampler_name,
        scheduler=row.scheduler,
        batch_size=row.batch_size,
        checkpoint_name=row.checkpoint_name,
        loras_used=row.loras_used,
        status=row.status,
        error=row.error,
        generation_time_seconds=row.generation_time_seconds,
        outputs=outputs,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )
