"""Running a workflow on an engine end to end: queued, followed, collected, kept as media.

The engine is called without any unit of work held: a run can take minutes, and the
images are stored afterwards in one unit of work of the caller's (`keep`). A run that is
cancelled (its job cancelled, timed out or its worker stopping) or that fails while it is
followed is interrupted on the engine, so the GPU is not left drawing for nobody.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from switchboard.core.errors import SwitchboardError, UpstreamUnavailable
from switchboard.core.images.generation import ImagePayload, store_images
from switchboard.core.media.schemas import MediaRead
from switchboard.core.media.service import MediaService
from switchboard.core.workflows import templates
from switchboard.core.workflows.errors import (
    WorkflowFailed,
    WorkflowInterrupted,
    WorkflowProducedNothing,
)
from switchboard.core.workflows.ports import (
    TERMINAL_EVENTS,
    Completed,
    Failed,
    FetchedImage,
    Interrupted,
    ObjectInfo,
    Progress,
    Queued,
    Started,
    SubmittedPrompt,
    Workflow,
    WorkflowEngine,
    WorkflowEvent,
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str | None], Awaitable[None]]
"""Where a run reports how far it got (0..1) and what it is doing."""

# Where each stage of a run lands on the 0..1 scale: sampling is most of the wait.
STARTED = 0.05
SAMPLED = 0.8


async def _silent(_fraction: float, _message: str | None) -> None:
    return None


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    """A finished run: the prompt's id on the engine and its images, fetched."""

    prompt_id: str
    images: tuple[FetchedImage, ...]


class _Reporter:
    """Maps engine events to progress that never goes backwards (a graph with two
    samplers starts counting steps again at the second)."""

    def __init__(self, progress: ProgressCallback, vendor: str) -> None:
        self._progress = progress
        self._vendor = vendor
        self._at = 0.0

    async def report(self, fraction: float, message: str) -> None:
        """Report `fraction` (held at the furthest point reached so far)."""
        self._at = max(self._at, fraction)
        await self._progress(self._at, message)

    async def event(self, event: WorkflowEvent) -> None:
        """Report what `event` means for the run, if anything."""
        if isinstance(event, Queued):
            await self.report(0.0, f"Queued on {self._vendor}")
        elif isinstance(event, Started):
            await self.report(STARTED, f"{self._vendor} started the workflow")
        elif isinstance(event, Progress) and event.max > 0:
            done = STARTED + (SAMPLED - STARTED) * min(event.value, event.max) / event.max
            await self.report(done, f"Step {event.value} of {event.max}")
        elif isinstance(event, Completed):
            await self.report(SAMPLED, f"{self._vendor} finished the workflow")


class WorkflowService:
    """Image generations on one workflow engine (the operator's ComfyUI)."""

    def __init__(self, engine: WorkflowEngine) -> None:
        self._engine = engine

    @property
    def vendor(self) -> str:
        """The engine's name, as messages show it."""
        return self._engine.vendor

    async def object_info(self) -> ObjectInfo:
        """The checkpoints, samplers, schedulers and LoRAs the engine offers."""
        return await self._engine.object_info()

    async def text_to_image(self, prompt: str, **options: Any) -> templates.TextToImage:
        """A text-to-image request checked against what the engine offers now
        (`templates.text_to_image` names the options)."""
        return templates.text_to_image(await self._engine.object_info(), prompt, **options)

    async def generate(
        self, request: templates.TextToImage, progress: ProgressCallback = _silent
    ) -> WorkflowRun:
        """Run `request`'s text-to-image graph; at least one image, or an error."""
        run = await self.run(templates.text_to_image_workflow(request), progress)
        if not run.images:
            raise WorkflowProducedNothing(self.vendor)
        return run

    async def run(self, workflow: Workflow, progress: ProgressCallback = _silent) -> WorkflowRun:
        """Queue `workflow` (an API-format graph), follow it to its end, fetch its images.

        `WorkflowRejected` when the engine refuses it, `WorkflowFailed` naming the node
        when a node raises, `WorkflowInterrupted` when someone stopped it on the engine.
        """
        return await self.finish(await self._engine.submit(workflow), progress)

    async def submit(self, workflow: Workflow) -> SubmittedPrompt:
        """Queue `workflow` only; `finish` follows it later (from a job, say)."""
        return await self._engine.submit(workflow)

    async def finish(
        self, prompt: SubmittedPrompt, progress: ProgressCallback = _silent
    ) -> WorkflowRun:
        """Follow a queued prompt to its end and fetch its images (see `run`); following
        again a prompt that already ended reads its end from the engine's history."""
        reporter = _Reporter(progress, self.vendor)
        try:
            end = await self._follow(prompt, reporter)
        except BaseException:
            # Cancelled (job cancelled, timed out, worker stopping) or lost track of it.
            await self._interrupt(prompt.prompt_id)
            raise
        if isinstance(end, Failed):
            raise WorkflowFailed(self.vendor, end)
        if isinstance(end, Interrupted):
            raise WorkflowInterrupted(f"{self.vendor} prompt {prompt.prompt_id} was interrupted")
        output = await self._engine.outputs(prompt.prompt_id)
        fetched: list[FetchedImage] = []
        for index, image in enumerate(output.images, start=1):
            fetched.append(await self._engine.fetch_image(image))
            share = (1 - SAMPLED) * index / len(output.images)
            await reporter.report(SAMPLED + share, f"Fetched image {index} of {len(output.images)}")
        return WorkflowRun(prompt.prompt_id, tuple(fetched))

    async def _follow(self, prompt: SubmittedPrompt, reporter: _Reporter) -> WorkflowEvent:
        """Follow the prompt, reporting its progress; the event that ended it."""
        async for event in self._engine.follow(prompt):
            if isinstance(event, TERMINAL_EVENTS):
                if isinstance(event, Completed):
                    await reporter.event(event)
                return event
            await reporter.event(event)
        raise UpstreamUnavailable(f"{self.vendor} stopped sending the prompt's events")

    async def _interrupt(self, prompt_id: str) -> None:
        """Interrupt the prompt, even while our own task is being cancelled; a failure
        to do so is logged, never raised over the error that brought us here."""
        try:
            await asyncio.shield(self._engine.interrupt(prompt_id))
        except SwitchboardError as exc:
            log.warning("could not interrupt %s prompt %s: %s", self.vendor, prompt_id, exc)
        except asyncio.CancelledError:
            pass  # cancelled again: the shielded interrupt carries on by itself

    async def keep(
        self,
        media: MediaService,
        owner_id: str,
        run: WorkflowRun,
        job_id: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> list[MediaRead]:
        """Store the run's images as the owner's media, in order, inside the caller's
        unit of work; `attributes` (the checkpoint, the seed) are kept with each."""
        payloads = [ImagePayload(image.data, image.media_type, None) for image in run.images]
        return await store_images(media, owner_id, payloads, job_id, attributes=attributes)
