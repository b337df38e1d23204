"""Contract tests: the ComfyUI engine against a fake ComfyUI server over loopback.

The fake runs nothing by itself: each test queues a prompt, starts following it, and
then drives the fake (`begin`, `finish`, `fail`, `run`), so the order of events is the
test's, and the polling fallback polls only when the test releases it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.workflows.comfyui import ComfyUIEngine
from switchboard.bootstrap import ConfigError, build_workflow_engine, workflow_engine_checks
from switchboard.config import Settings
from switchboard.core.errors import (
    RETRYABLE_KINDS,
    ErrorKind,
    Invalid,
    SwitchboardError,
    Timeout,
)
from switchboard.core.workflows.errors import (
    WorkflowEngineUnreachable,
    WorkflowFailed,
    WorkflowInterrupted,
    WorkflowNotFinished,
    WorkflowRejected,
)
from switchboard.core.workflows.ports import (
    Completed,
    Executed,
    Executing,
    Failed,
    Interrupted,
    OutputImage,
    Progress,
    Queued,
    Started,
    SubmittedPrompt,
    WorkflowEvent,
)
from tests.fixtures.app import Harness
from tests.fixtures.network import refusing_port
from tests.fixtures.upstreams.comfyui_fake import (
    CHECKPOINTS,
    LORAS,
    SAMPLERS,
    SCHEDULERS,
    ComfyFake,
    png,
    text_to_image,
)
from tests.fixtures.upstreams.comfyui_fixtures import Polls, engine_on
from tests.fixtures.waiting import eventually

SAVE_NODE = "9"


class Follower:
    """Follows one prompt in a task, keeping every event it yields."""

    def __init__(self, comfy: ComfyUIEngine, prompt: SubmittedPrompt) -> None:
        self.events: list[WorkflowEvent] = []
        self.task = asyncio.create_task(self._follow(comfy, prompt))

    async def _follow(self, comfy: ComfyUIEngine, prompt: SubmittedPrompt) -> None:
        async for event in comfy.follow(prompt):
            self.events.append(event)

    async def saw(self, kind: type) -> WorkflowEvent:
        """Wait for the first event of `kind` (failing early if the task failed)."""

        def found() -> WorkflowEvent | None:
            if self.task.done():
                self.task.result()
            return next((e for e in self.events if isinstance(e, kind)), None)

        return await eventually(found, what=f"a {kind.__name__} event")

    async def done(self) -> list[WorkflowEvent]:
        """Every event, once the prompt has ended."""
        await asyncio.wait_for(self.task, timeout=5)
        return self.events

    def without_queued(self) -> list[WorkflowEvent]:
        """The events after the queue updates (how many of those come is ComfyUI's)."""
        return [e for e in self.events if not isinstance(e, Queued)]


class TestObjectInfo:
    async def test_lists_samplers_schedulers_checkpoints_and_loras(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        info = await engine_on(comfyui, vendor_clients).object_info()
        assert info.samplers == tuple(SAMPLERS)
        assert info.schedulers == tuple(SCHEDULERS)
        assert info.checkpoints == tuple(CHECKPOINTS)
        assert info.loras == tuple(LORAS)
        asked = sorted(r.path for r in comfyui.upstream.requests)
        assert asked == [
            "/object_info/CheckpointLoaderSimple",
            "/object_info/KSampler",
            "/object_info/LoraLoader",
        ]

    async def test_reads_the_combo_shape_of_newer_nodes(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfyui.v3_combos = True
        comfyui.checkpoints = ["flux1-dev.safetensors"]
        info = await engine_on(comfyui, vendor_clients).object_info()
        assert info.checkpoints == ("flux1-dev.safetensors",)
        assert info.samplers == tuple(SAMPLERS)


class TestSubmit:
    async def test_queues_the_workflow_with_a_client_id_of_its_own(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        first = await comfy.submit(text_to_image())
        second = await comfy.submit(text_to_image())
        sent = [r.body for r in comfyui.upstream.requests if r.path == "/prompt"]
        assert sent[0] == {"prompt": text_to_image(), "client_id": first.client_id}
        assert first.client_id != second.client_id
        assert [job.prompt_id for job in comfyui.pending] == [first.prompt_id, second.prompt_id]
        assert second.number == first.number + 1

    async def test_a_refused_workflow_names_the_node_and_comfyuis_reason(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        with pytest.raises(WorkflowRejected) as caught:
            await engine_on(comfyui, vendor_clients).submit(text_to_image("missing.safetensors"))
        error = caught.value
        assert error.kind is ErrorKind.UPSTREAM_REJECTED
        assert error.code == "workflow_rejected"
        assert "ComfyUI rejected the workflow: Prompt outputs failed validation" in error.message
        assert "node 4 (CheckpointLoaderSimple): Value not in list" in error.message
        assert "'missing.safetensors'" in error.message
        assert [(n.node_id, n.class_type) for n in error.nodes] == [("4", "CheckpointLoaderSimple")]
        assert comfyui.pending == []

    async def test_an_unknown_node_class_is_refused_with_comfyuis_words(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        workflow = text_to_image() | {"10": {"class_type": "NoSuchNode", "inputs": {}}}
        with pytest.raises(WorkflowRejected, match=r"node NoSuchNode does not exist.*#10"):
            await engine_on(comfyui, vendor_clients).submit(workflow)

    async def test_a_server_error_is_retryable_and_names_comfyui(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfyui.upstream.fail(status=500, message="boom", path_contains="/prompt")
        with pytest.raises(SwitchboardError) as caught:
            await engine_on(comfyui, vendor_clients).submit(text_to_image())
        assert caught.value.kind is ErrorKind.UPSTREAM_UNAVAILABLE
        assert caught.value.kind in RETRYABLE_KINDS
        assert "ComfyUI" in caught.value.message
        assert comfyui.pending == []

    def test_the_engine_names_itself(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        assert engine_on(comfyui, vendor_clients).vendor == "ComfyUI"


class TestFollow:
    async def test_events_in_order_then_outputs_and_images(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        prompt = await comfy.submit(text_to_image(batch=2, steps=3))
        follower = Follower(comfy, prompt)
        await follower.saw(Queued)
        await comfyui.run(prompt.prompt_id)
        events = await follower.done()
        assert isinstance(events[0], Queued)
        pid = prompt.prompt_id
        images = (
            OutputImage("switchboard_00001_.png", "", "output", SAVE_NODE),
            OutputImage("switchboard_00002_.png", "", "output", SAVE_NODE),
        )
        assert follower.without_queued() == [
            Started(pid),
            *(Executing(pid, node) for node in ("4", "6", "7", "5", "3")),
            *(Progress(pid, "3", step, 3) for step in (1, 2, 3)),
            Executing(pid, "8"),
            Executing(pid, SAVE_NODE),
            Executed(pid, SAVE_NODE, images),
            Completed(pid),
        ]
        assert comfyui.connections == [prompt.client_id]

        output = await comfy.outputs(pid)
        assert output.images == images
        fetched = await comfy.fetch_image(output.images[1])
        assert (fetched.data, fetched.media_type) == (png(), "image/png")
        view = comfyui.upstream.requests[-1]
        assert view.path == "/view"
        assert view.query == {
            "filename": "switchboard_00002_.png",
            "subfolder": "",
            "type": "output",
        }

    async def test_a_prompt_that_ended_before_anyone_listened_is_read_from_history(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        prompt = await comfy.submit(text_to_image())
        await comfyui.run(prompt.prompt_id)
        events = await Follower(comfy, prompt).done()
        image = OutputImage("switchboard_00001_.png", "", "output", SAVE_NODE)
        assert events == [
            Executed(prompt.prompt_id, SAVE_NODE, (image,)),
            Completed(prompt.prompt_id),
        ]

    async def test_polls_history_when_the_websocket_is_refused(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients, polls: Polls
    ) -> None:
        comfyui.websockets_enabled = False
        comfy = engine_on(comfyui, vendor_clients, polls=polls)
        prompt = await comfy.submit(text_to_image())
        follower = Follower(comfy, prompt)
        await eventually(lambda: polls.count, what="the fallback to poll once")
        await comfyui.run(prompt.prompt_id)
        polls.release()
        events = await follower.done()
        pid = prompt.prompt_id
        image = OutputImage("switchboard_00001_.png", "", "output", SAVE_NODE)
        assert events == [Queued(pid), Executed(pid, SAVE_NODE, (image,)), Completed(pid)]
        assert comfyui.connections == []
        assert (await comfy.outputs(pid)).images == (image,)

    async def test_polls_history_when_the_websocket_drops_mid_run(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients, polls: Polls
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients, polls=polls)
        prompt = await comfy.submit(text_to_image())
        follower = Follower(comfy, prompt)
        await follower.saw(Queued)
        await comfyui.begin(prompt.prompt_id)
        await follower.saw(Progress)
        await comfyui.drop_sockets()
        await eventually(lambda: polls.count, what="the fallback to poll once")
        events = follower.without_queued()
        await comfyui.finish(prompt.prompt_id)
        polls.release()
        await follower.done()
        tail = follower.without_queued()[len(events) :]
        pid = prompt.prompt_id
        image = OutputImage("switchboard_00001_.png", "", "output", SAVE_NODE)
        assert tail == [Executed(pid, SAVE_NODE, (image,)), Completed(pid)]
        assert Progress(pid, "3", 1, 4) in events

    async def test_outputs_seen_before_a_drop_are_not_announced_twice(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients, polls: Polls
    ) -> None:
        comfyui.drop_before_end = True
        polls.release()
        comfy = engine_on(comfyui, vendor_clients, polls=polls)
        prompt = await comfy.submit(text_to_image())
        follower = Follower(comfy, prompt)
        await follower.saw(Queued)
        await comfyui.run(prompt.prompt_id)
        events = await follower.done()
        assert [e for e in events if isinstance(e, Executed)] == [
            Executed(
                prompt.prompt_id,
                SAVE_NODE,
                (OutputImage("switchboard_00001_.png", "", "output", SAVE_NODE),),
            )
        ]
        assert events[-1] == Completed(prompt.prompt_id)

    async def test_a_node_error_fails_with_comfyuis_message(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        prompt = await comfy.submit(text_to_image())
        follower = Follower(comfy, prompt)
        await follower.saw(Queued)
        await comfyui.fail(prompt.prompt_id, "CUDA out of memory. Tried to allocate 2.00 GiB")
        events = await follower.done()
        failure = Failed(
            prompt.prompt_id,
            "3",
            "KSampler",
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
        )
        assert events[-1] == failure
        assert not any(isinstance(e, Completed) for e in events)

        with pytest.raises(WorkflowFailed) as caught:
            await comfy.outputs(prompt.prompt_id)
        assert caught.value.kind is ErrorKind.UPSTREAM_REJECTED
        assert caught.value.message == (
            "ComfyUI failed at node 3 (KSampler): "
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
        )

    async def test_outputs_of_a_prompt_still_queued_are_not_there_yet(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        prompt = await comfy.submit(text_to_image())
        with pytest.raises(WorkflowNotFinished):
            await comfy.outputs(prompt.prompt_id)

    async def test_following_stops_at_the_run_deadline(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients, run_timeout=0)
        prompt = await comfy.submit(text_to_image())
        with pytest.raises(Timeout, match="did not finish the prompt within 0 seconds"):
            await asyncio.wait_for(_drain(comfy, prompt), timeout=5)


class TestInterrupt:
    async def test_interrupts_a_running_prompt(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        prompt = await comfy.submit(text_to_image())
        follower = Follower(comfy, prompt)
        await follower.saw(Queued)
        await comfyui.begin(prompt.prompt_id)
        await follower.saw(Progress)
        await comfy.interrupt(prompt.prompt_id)
        events = await follower.done()
        assert events[-1] == Interrupted(prompt.prompt_id, "3")
        assert comfyui.interrupts == [{"prompt_id": prompt.prompt_id}]
        assert comfyui.running is None
        with pytest.raises(WorkflowInterrupted):
            await comfy.outputs(prompt.prompt_id)

    async def test_deletes_a_pending_prompt_from_the_queue(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        prompt = await comfy.submit(text_to_image())
        follower = Follower(comfy, prompt)
        await follower.saw(Queued)
        await comfy.interrupt(prompt.prompt_id)
        events = await follower.done()
        assert events[-1] == Interrupted(prompt.prompt_id)
        assert comfyui.pending == []
        assert comfyui.interrupts == []  # nothing running was touched
        deletes = [r.body for r in comfyui.upstream.requests if r.path == "/queue" and r.body]
        assert deletes == [{"delete": [prompt.prompt_id]}]

    async def test_leaves_another_prompt_running(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        running = await comfy.submit(text_to_image())
        finished = await comfy.submit(text_to_image())
        await comfyui.run(finished.prompt_id)
        await comfyui.begin(running.prompt_id)
        await comfy.interrupt(finished.prompt_id)
        assert comfyui.interrupts == []
        assert comfyui.running is not None and comfyui.running.prompt_id == running.prompt_id


class TestImages:
    async def _finished_image(self, comfyui: ComfyFake, comfy: ComfyUIEngine) -> OutputImage:
        prompt = await comfy.submit(text_to_image())
        await comfyui.run(prompt.prompt_id)
        return (await comfy.outputs(prompt.prompt_id)).images[0]

    async def test_an_image_over_the_size_bound_is_refused(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients, max_image_bytes=1024)
        image = await self._finished_image(comfyui, comfy)
        comfyui.files[(image.filename, image.subfolder, image.type)] = png() + b"\0" * 1024
        with pytest.raises(SwitchboardError) as caught:
            await comfy.fetch_image(image)
        assert caught.value.code == "response_too_large"

    async def test_bytes_that_are_not_an_image_are_refused(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = engine_on(comfyui, vendor_clients)
        image = await self._finished_image(comfyui, comfy)
        comfyui.files[(image.filename, image.subfolder, image.type)] = b"<svg onload=alert(1)>"
        with pytest.raises(SwitchboardError) as caught:
            await comfy.fetch_image(image)
        assert caught.value.kind is ErrorKind.UPSTREAM_REJECTED
        assert caught.value.code == "unsupported_media_type"


class TestComfyUIDown:
    async def test_every_call_says_it_cannot_connect(
        self, vendor_clients: OutboundClients, polls: Polls
    ) -> None:
        with refusing_port() as port:
            comfy = engine_on(
                None, vendor_clients, base_url=f"http://127.0.0.1:{port}", polls=polls
            )
            calls = [
                comfy.test_connection(),
                comfy.object_info(),
                comfy.submit(text_to_image()),
                comfy.interrupt("p1"),
                comfy.outputs("p1"),
                comfy.fetch_image(OutputImage("x.png")),
                _drain(comfy, SubmittedPrompt("p1", "c1")),
            ]
            for call in calls:
                with pytest.raises(WorkflowEngineUnreachable) as caught:
                    await call
                assert caught.value.kind is ErrorKind.UPSTREAM_UNAVAILABLE
                assert caught.value.message == f"cannot connect to ComfyUI at 127.0.0.1:{port}"
        assert polls.count == 0  # the fallback's first look failed: no waiting on a dead server

    async def test_a_live_server_passes_the_connection_test(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        await engine_on(comfyui, vendor_clients).test_connection()
        assert [r.path for r in comfyui.upstream.requests] == ["/system_stats"]


class TestOutboundPolicy:
    async def test_an_untrusted_engine_may_not_reach_a_private_address(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        trusted = engine_on(comfyui, vendor_clients)
        prompt = await trusted.submit(text_to_image())
        comfyui.upstream.requests.clear()
        untrusted = engine_on(comfyui, vendor_clients, trusted=False)
        for call in (untrusted.submit(text_to_image()), _drain(untrusted, prompt)):
            with pytest.raises(Invalid) as caught:
                await call
            assert caught.value.code == "url_not_allowed"
        assert comfyui.upstream.requests == []
        assert comfyui.connections == []  # the WebSocket was refused before dialling

    async def test_exemptions_of_the_policy_apply_to_the_websocket_too(
        self, comfyui: ComfyFake
    ) -> None:
        host_port = comfyui.url.removeprefix("http://")
        clients = OutboundClients(exemptions=[host_port])
        try:
            comfy = engine_on(comfyui, clients, trusted=False)
            prompt = await comfy.submit(text_to_image())
            follower = Follower(comfy, prompt)
            await follower.saw(Queued)
            await comfyui.run(prompt.prompt_id)
            assert isinstance((await follower.done())[-1], Completed)
            assert comfyui.connections == [prompt.client_id]
        finally:
            await clients.aclose()


class TestWiring:
    async def test_comfyui_url_adds_an_optional_health_check(
        self, comfyui: ComfyFake, vendor_clients: OutboundClients
    ) -> None:
        comfy = build_workflow_engine(Settings(comfyui_url=comfyui.url), vendor_clients)
        await workflow_engine_checks(comfy)["comfyui"]()
        assert [r.path for r in comfyui.upstream.requests] == ["/system_stats"]

    async def test_the_app_reports_comfyui_among_its_checks(
        self, comfyui: ComfyFake, harness_factory: Callable[..., Awaitable[Harness]]
    ) -> None:
        harness = await harness_factory(comfyui_url=comfyui.url)
        report = await harness.ctx.health.report()
        check = report.check("comfyui")
        assert check is not None and check.ok and not check.required

    async def test_the_check_fails_in_plain_words_when_comfyui_is_down(
        self, vendor_clients: OutboundClients
    ) -> None:
        with refusing_port() as port:
            settings = Settings(comfyui_url=f"http://127.0.0.1:{port}")
            check = workflow_engine_checks(build_workflow_engine(settings, vendor_clients))
            with pytest.raises(ConnectionError, match=r"^ComfyUI unreachable$"):
                await check["comfyui"]()

    def test_no_url_no_engine_and_a_bad_url_is_a_config_error(
        self, vendor_clients: OutboundClients
    ) -> None:
        assert build_workflow_engine(Settings(comfyui_url=None), vendor_clients) is None
        assert workflow_engine_checks(None) == {}
        with pytest.raises(ConfigError, match="COMFYUI_URL"):
            build_workflow_engine(Settings(comfyui_url="ftp://comfy.lan"), vendor_clients)


async def _drain(comfy: ComfyUIEngine, prompt: SubmittedPrompt) -> None:
    async for _ in comfy.follow(prompt):
        pass
