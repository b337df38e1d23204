"""The workflow service against the fake ComfyUI server: a generation end to end into
media, refusals before anything is queued, progress, cancellation and failures."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.storage import LocalMediaStorage
from switchboard.core.errors import ErrorKind, Invalid
from switchboard.core.media.service import MediaService
from switchboard.core.workflows.errors import (
    WorkflowEngineUnreachable,
    WorkflowFailed,
    WorkflowInterrupted,
    WorkflowProducedNothing,
    WorkflowRejected,
)
from switchboard.core.workflows.service import WorkflowRun, WorkflowService
from switchboard.core.workflows.templates import TextToImage
from tests.fixtures.app import Harness
from tests.fixtures.network import refusing_port
from tests.fixtures.upstreams.comfyui_fake import CHECKPOINTS, ComfyFake, png, text_to_image
from tests.fixtures.upstreams.comfyui_fixtures import Polls, engine_on
from tests.fixtures.waiting import eventually


class Recorded:
    """A progress callback keeping every report."""

    def __init__(self) -> None:
        self.reports: list[tuple[float, str | None]] = []

    async def __call__(self, fraction: float, message: str | None) -> None:
        self.reports.append((fraction, message))

    @property
    def messages(self) -> list[str | None]:
        return [message for _, message in self.reports]


class Running:
    """A run in a task of its own, and the prompt it queued on the fake."""

    def __init__(self, comfyui: ComfyFake, work: Any) -> None:
        self.comfyui = comfyui
        self.task: asyncio.Task[WorkflowRun] = asyncio.create_task(work)

    async def queued(self) -> str:
        """The id of the prompt the run queued, once it is queued."""

        def queued() -> str | None:
            if self.task.done():
                self.task.result()
            return self.comfyui.pending[0].prompt_id if self.comfyui.pending else None

        return await eventually(queued, what="the prompt to be queued")

    async def result(self) -> WorkflowRun:
        """The run's result (or its error)."""
        return await asyncio.wait_for(self.task, timeout=5)


def service(comfyui: ComfyFake | None, clients: OutboundClients, **options: Any) -> WorkflowService:
    """The service on an engine on the fake."""
    return WorkflowService(engine_on(comfyui, clients, **options))


async def _request(workflows: WorkflowService, **options: Any) -> TextToImage:
    return await workflows.text_to_image("a lighthouse", **options)


class TestGenerate:
    async def test_a_prompt_becomes_the_owners_media(
        self,
        comfyui: ComfyFake,
        vendor_clients: OutboundClients,
        harness: Harness,
        tmp_path: Path,
    ) -> None:
        workflows = service(comfyui, vendor_clients)
        request = await _request(workflows, size="512x768", steps=3, seed=7, batch=2)
        running = Running(comfyui, workflows.generate(request))
        prompt_id = await running.queued()
        sent = comfyui.pending[0].prompt
        assert sent["4"]["inputs"]["ckpt_name"] == CHECKPOINTS[0]
        assert sent["5"]["inputs"] == {"width": 512, "height": 768, "batch_size": 2}
        assert sent["3"]["inputs"]["seed"] == 7
        await comfyui.run(prompt_id)
        run = await running.result()
        assert run.prompt_id == prompt_id
        assert [(i.data, i.media_type) for i in run.images] == [(png(), "image/png")] * 2

        owner = (await harness.user("painter@example.com")).id
        storage = LocalMediaStorage(tmp_path / "media")
        async with harness.ctx.unit_of_work() as uow:
            media = MediaService(uow.session, storage)
            kept = await workflows.keep(media, owner, run, attributes={"seed": 7})
        assert [m.attributes["index"] for m in kept] == [1, 2]
        assert all(m.attributes["seed"] == 7 for m in kept)
        async with harness.ctx.unit_of_work() as uow:
            read, data = await MediaService(uow.session, storage).open(owner, kept[0].id)
        assert (read.mime_type, data) == ("image/png", png())

    async def test_a_callers_own_workflow_runs_as_given(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflow = text_to_image(CHECKPOINTS[1], batch=1, steps=2)
        running = Running(comfyui, service(comfyui, vendor_clients).run(workflow))
        prompt_id = await running.queued()
        assert comfyui.pending[0].prompt == workflow
        await comfyui.run(prompt_id)
        assert len((await running.result()).images) == 1

    async def test_progress_is_reported_in_order_and_never_goes_back(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflows = service(comfyui, vendor_clients)
        request = await _request(workflows, steps=2, batch=2)
        progress = Recorded()
        running = Running(comfyui, workflows.generate(request, progress))
        prompt_id = await running.queued()
        await eventually(lambda: progress.reports, what="the queued report")
        await comfyui.run(prompt_id)
        await running.result()
        messages = [m for m in progress.messages if m != "Queued on ComfyUI"]
        assert progress.messages[0] == "Queued on ComfyUI"
        assert messages == [
            "ComfyUI started the workflow",
            "Step 1 of 2",
            "Step 2 of 2",
            "ComfyUI finished the workflow",
            "Fetched image 1 of 2",
            "Fetched image 2 of 2",
        ]
        fractions = [fraction for fraction, _ in progress.reports]
        assert fractions == sorted(fractions)
        assert fractions[0] == 0.0 and fractions[-1] == 1.0

    async def test_the_polling_fallback_serves_as_well(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients, polls: Polls
    ) -> None:
        comfyui.websockets_enabled = False
        workflows = service(comfyui, vendor_clients, polls=polls)
        request = await _request(workflows)
        running = Running(comfyui, workflows.generate(request))
        prompt_id = await running.queued()
        await eventually(lambda: polls.count, what="the fallback to poll once")
        await comfyui.run(prompt_id)
        polls.release()
        assert len((await running.result()).images) == 1
        assert comfyui.connections == []


class TestRefusals:
    @pytest.mark.parametrize(
        ("options", "param", "allowed"),
        [
            ({"checkpoint": "missing.safetensors"}, "model", ", ".join(CHECKPOINTS)),
            ({"sampler": "ddim"}, "sampler", "euler, euler_ancestral, dpmpp_2m"),
            ({"scheduler": "exponential"}, "scheduler", "normal, karras, simple"),
        ],
    )
    async def test_unknown_choices_name_the_allowed_ones_and_queue_nothing(
        self,
        comfyui: ComfyFake,
        vendor_clients: OutboundClients,
        options: dict[str, Any],
        param: str,
        allowed: str,
    ) -> None:
        with pytest.raises(Invalid) as caught:
            await _request(service(comfyui, vendor_clients), **options)
        assert caught.value.kind is ErrorKind.INVALID
        assert caught.value.param == param
        assert caught.value.message.endswith(f"one of: {allowed}")
        assert not [r for r in comfyui.upstream.requests if r.path == "/prompt"]

    async def test_a_workflow_comfyui_refuses_names_the_node(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflow = text_to_image("missing.safetensors")
        with pytest.raises(WorkflowRejected, match=r"node 4 \(CheckpointLoaderSimple\)"):
            await service(comfyui, vendor_clients).run(workflow)

    async def test_a_workflow_without_images_is_an_error(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflows = service(comfyui, vendor_clients)
        request = await _request(workflows)
        running = Running(comfyui, workflows.generate(request))
        prompt_id = await running.queued()
        comfyui.pending[0].outputs = []  # the save node produced nothing
        await comfyui.run(prompt_id)
        with pytest.raises(WorkflowProducedNothing, match="without producing an image"):
            await running.result()


class TestEnds:
    async def test_a_failed_generation_names_the_node_and_comfyuis_message(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflows = service(comfyui, vendor_clients)
        running = Running(comfyui, workflows.generate(await _request(workflows)))
        prompt_id = await running.queued()
        await comfyui.fail(prompt_id, "CUDA out of memory")
        with pytest.raises(WorkflowFailed) as caught:
            await running.result()
        assert caught.value.kind is ErrorKind.UPSTREAM_REJECTED
        assert caught.value.message == (
            "ComfyUI failed at node 3 (KSampler): torch.OutOfMemoryError: CUDA out of memory"
        )
        assert not [r for r in comfyui.upstream.requests if r.path == "/view"]

    async def test_cancelling_a_running_generation_interrupts_it_on_comfyui(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflows = service(comfyui, vendor_clients)
        progress = Recorded()
        running = Running(comfyui, workflows.generate(await _request(workflows), progress))
        prompt_id = await running.queued()
        await eventually(lambda: progress.reports, what="the queued report (the socket is open)")
        await comfyui.begin(prompt_id)
        await eventually(lambda: "Step 1 of 20" in progress.messages, what="the first sampler step")
        running.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running.result()
        assert comfyui.interrupts == [{"prompt_id": prompt_id}]
        assert comfyui.running is None

    async def test_cancelling_a_queued_generation_removes_it_from_the_queue(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflows = service(comfyui, vendor_clients)
        progress = Recorded()
        running = Running(comfyui, workflows.generate(await _request(workflows), progress))
        await running.queued()
        await eventually(lambda: progress.reports, what="the queued report")
        running.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running.result()
        assert comfyui.pending == []
        assert comfyui.interrupts == []

    async def test_a_generation_stopped_on_comfyui_is_interrupted(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflows = service(comfyui, vendor_clients)
        running = Running(comfyui, workflows.generate(await _request(workflows)))
        prompt_id = await running.queued()
        await comfyui.begin(prompt_id)
        await comfyui.on_server(comfyui.interrupt(None))  # someone pressed Cancel in ComfyUI
        with pytest.raises(WorkflowInterrupted, match="was interrupted"):
            await running.result()

    async def test_comfyui_down_cannot_connect(self, vendor_clients: OutboundClients) -> None:
        with refusing_port() as port:
            workflows = service(None, vendor_clients, base_url=f"http://127.0.0.1:{port}")
            for call in (_request(workflows), workflows.run(text_to_image())):
                with pytest.raises(WorkflowEngineUnreachable) as caught:
                    await call
                assert caught.value.kind is ErrorKind.UPSTREAM_UNAVAILABLE
                assert caught.value.message == f"cannot connect to ComfyUI at 127.0.0.1:{port}"
