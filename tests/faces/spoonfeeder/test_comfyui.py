"""Contract: Spoon Feeder's ComfyUI section against the fake ComfyUI server, from options
to a generation followed to `complete` and its image served by the proxy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from switchboard.core.comfy.service import COMFY_GENERATION
from switchboard.core.events.ports import Subscription
from switchboard.core.events.schemas import Event, user_topic
from switchboard.core.profiles.schemas import ProfileCreate
from tests.faces.spoonfeeder.conftest import data_of, error_of, message_of
from tests.fixtures.app import Harness, User
from tests.fixtures.upstreams.comfyui_fake import (
    CHECKPOINTS,
    LORAS,
    SAMPLERS,
    SCHEDULERS,
    ComfyFake,
    png,
    text_to_image,
)
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.asyncio

DOC_DIMENSIONS = [512, 768, 832, 896, 1024, 1152, 1216, 1344, 1536]
GENERATION_FIELDS = {
    "id", "session_id", "workflow_id", "prompt_id", "prompt_text", "negative_prompt",
    "parameters", "width", "height", "steps", "cfg_scale", "seed", "sampler_name",
    "scheduler", "batch_size", "checkpoint_name", "loras_used", "status", "outputs",
    "created_at", "generation_time_seconds",
}  # fmt: skip
SESSION_FIELDS = {
    "id", "profile_id", "profile_name", "profile_url", "title", "current_workflow_id",
    "last_parameters", "generation_count", "completed_count", "failed_count", "created_at",
    "updated_at",
}  # fmt: skip
GENERATE = {
    "prompt_text": "A majestic dragon flying over a castle at sunset",
    "negative_prompt": "blurry, low quality, watermark, signature",
    "parameters": {
        "width": 512,
        "height": 512,
        "steps": 4,
        "cfg_scale": 7,
        "seed": -1,
        "sampler_name": "dpmpp_2m",
        "scheduler": "karras",
        "batch_size": 1,
    },
}


@pytest.fixture
async def app(harness_factory: Callable[..., Awaitable[Harness]], comfyui: ComfyFake) -> Harness:
    """Jobs run inside the app; COMFYUI_URL is the fake ComfyUI."""
    return await harness_factory(
        comfyui_url=comfyui.url,
        jobs_in_process="on",
        job_sweep_interval_seconds=0.05,
        job_retry_base_seconds=0.01,
    )


async def _session(app: Harness, user: User, title: str = "Landscape Concepts") -> Any:
    body = {"profileId": "profile-1", "title": title}
    return data_of(
        await app.client.post("/api/comfyui/sessions", headers=user.headers, json=body), 201
    )


async def _generate(app: Harness, user: User, session_id: str, body: dict[str, Any]) -> Any:
    url = f"/api/comfyui/sessions/{session_id}/generate"
    return data_of(await app.client.post(url, headers=user.headers, json=body), 201)


async def _generation(app: Harness, user: User, generation_id: str, status: str) -> Any:
    async def reached() -> Any:
        url = f"/api/comfyui/generations/{generation_id}"
        found = data_of(await app.client.get(url, headers=user.headers))
        return found if found["status"] == status else None

    found = await eventually(reached, timeout=10, what=f"generation {status}")
    if status in ("complete", "failed"):
        # The job writes its own end just after the generation's: a test that ended here
        # would shut the app down in the middle of that write.
        await eventually(lambda: _jobs_idle(app), timeout=10, what="the job to finish")
    return found


async def _jobs_idle(app: Harness) -> bool:
    counts = await app.run(lambda services: services.job_counts())
    return not counts.get("running") and not counts.get("pending")


async def _generation_events(subscription: Subscription, last: str) -> list[Event]:
    seen: list[Event] = []

    async def collect() -> None:
        async for event in subscription:
            if event.type.startswith("generation."):
                seen.append(event)
            if event.type == last:
                return

    await asyncio.wait_for(collect(), timeout=10)
    return seen


async def _workflow(app: Harness, user: User, **extra: Any) -> Any:
    body = {
        "name": "SDXL txt2img",
        "description": "Basic text-to-image with SDXL",
        "profileId": "profile-1",
        "workflowJson": text_to_image(),
        "defaultParameters": {"steps": 4, "cfg_scale": 7},
    } | extra
    return data_of(
        await app.client.post("/api/comfyui/workflows", headers=user.headers, json=body), 201
    )


class TestOptions:
    async def test_options_come_from_comfyui(self, app: Harness) -> None:
        alice = await app.user("alice@example.com")
        data = data_of(await app.client.get("/api/comfyui/options", headers=alice.headers))
        assert data == {
            "samplers": SAMPLERS,
            "schedulers": SCHEDULERS,
            "dimensions": DOC_DIMENSIONS,
            "checkpoints": CHECKPOINTS,
            "loras": LORAS,
        }


class TestSessions:
    async def test_create_list_get_update_delete(self, app: Harness) -> None:
        alice = await app.user("alice@example.com")
        created = await _session(app, alice, "Character Designs")
        assert created["title"] == "Character Designs"
        assert created["profile_id"] == "profile-1"
        assert created["generation_count"] == 0
        assert isinstance(created["created_at"], str)
        listed = data_of(await app.client.get("/api/comfyui/sessions", headers=alice.headers))
        assert [s["id"] for s in listed] == [created["id"]]
        assert set(listed[0]) >= SESSION_FIELDS
        url = f"/api/comfyui/sessions/{created['id']}"
        got = data_of(await app.client.get(url, headers=alice.headers))
        assert got["generations"] == [] and got["completed_count"] == 0
        renamed = data_of(
            await app.client.put(url, headers=alice.headers, json={"title": "Mountain Landscapes"})
        )
        assert renamed["title"] == "Mountain Landscapes" and "updated_at" in renamed
        assert message_of(await app.client.delete(url, headers=alice.headers)) == "Session deleted"
        error_of(await app.client.get(url, headers=alice.headers), 404, "NOT_FOUND")

    async def test_a_session_and_a_workflow_name_their_profile(self, app: Harness) -> None:
        alice = await app.user("alice@example.com")
        new = ProfileCreate(
            name="Local ComfyUI", type="image", provider="comfyui", url="http://127.0.0.1:8188"
        )
        profile = await app.run(lambda s: s.profiles.create(alice.id, new, allow_private=True))
        body = {"profileId": profile.id, "title": "Landscape Concepts"}
        session = data_of(
            await app.client.post("/api/comfyui/sessions", headers=alice.headers, json=body), 201
        )
        assert (session["profile_name"], session["profile_url"]) == (
            "Local ComfyUI",
            "http://127.0.0.1:8188",
        )
        workflow = await _workflow(app, alice, profileId=profile.id)
        assert workflow["profile_name"] == "Local ComfyUI"

    async def test_another_users_session_is_not_found(self, app: Harness) -> None:
        alice = await app.user("alice@example.com")
        bob = await app.user("bob@example.com")
        session = await _session(app, alice)
        url = f"/api/comfyui/sessions/{session['id']}"
        error_of(await app.client.get(url, headers=bob.headers), 404, "NOT_FOUND")
        error_of(await app.client.put(url, headers=bob.headers, json={"title": "x"}), 404)
        error_of(await app.client.delete(url, headers=bob.headers), 404)
        error_of(await app.client.post(f"{url}/generate", headers=bob.headers, json=GENERATE), 404)
        assert data_of(await app.client.get("/api/comfyui/sessions", headers=bob.headers)) == []


class TestGenerate:
    async def test_a_generation_runs_to_complete_and_its_image_is_served(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        subscription = await app.ctx.bus.subscribe([user_topic(alice.id)])
        try:
            generation = await _generate(app, alice, session["id"], GENERATE)
            assert set(generation) >= GENERATION_FIELDS
            assert generation["status"] == "running" and generation["outputs"] == []
            assert generation["session_id"] == session["id"]
            assert generation["workflow_id"] is None
            assert generation["prompt_id"] == comfyui.pending[0].prompt_id
            assert isinstance(generation["seed"], int) and generation["seed"] >= 0
            assert generation["parameters"]["seed"] == generation["seed"]
            assert generation["checkpoint_name"] == CHECKPOINTS[0]
            assert (generation["width"], generation["height"], generation["steps"]) == (512, 512, 4)
            assert (generation["sampler_name"], generation["scheduler"]) == ("dpmpp_2m", "karras")
            submitted = comfyui.pending[0].prompt
            assert submitted["3"]["inputs"]["seed"] == generation["seed"]
            assert submitted["7"]["inputs"]["text"] == GENERATE["negative_prompt"]
            await comfyui.run(generation["prompt_id"])
            seen = await _generation_events(subscription, "generation.completed")
        finally:
            await subscription.close()
        assert seen[0].type == "generation.started"
        assert seen[0].data == {
            "generationId": generation["id"],
            "promptId": generation["prompt_id"],
            "sessionId": session["id"],
        }
        assert seen[-1].type == "generation.completed"
        progress = [e.data["progress"] for e in seen if e.type == "generation.progress"]
        assert progress and progress == sorted(progress)
        done = await _generation(app, alice, generation["id"], "complete")
        assert done["outputs"] == [
            {"filename": "switchboard_00001_.png", "subfolder": "", "type": "output"}
        ]
        assert seen[-1].data["outputs"] == done["outputs"]
        assert done["generation_time_seconds"] >= 0
        image = await app.client.get(
            "/api/comfyui/image/switchboard_00001_.png?subfolder=&type=output",
            headers=alice.headers,
        )
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert image.content == png()
        url = f"/api/comfyui/sessions/{session['id']}"
        counted = data_of(await app.client.get(url, headers=alice.headers))
        assert (counted["generation_count"], counted["completed_count"]) == (1, 1)
        assert counted["failed_count"] == 0
        assert [g["id"] for g in counted["generations"]] == [generation["id"]]
        assert counted["last_parameters"]["seed"] == -1  # a new random seed next time

    async def test_parameters_merge_defaults_the_sessions_last_and_the_request(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        first = await _generate(
            app, alice, session["id"], {"prompt_text": "a fox", "parameters": {"steps": 6}}
        )
        assert (first["width"], first["height"], first["steps"]) == (1024, 1024, 6)
        assert (first["cfg_scale"], first["sampler_name"], first["scheduler"]) == (
            7.0,
            "euler",
            "normal",
        )
        second = await _generate(
            app, alice, session["id"], {"prompt_text": "a fox", "parameters": {"seed": 7}}
        )
        assert (second["steps"], second["seed"]) == (6, 7)
        third = await _generate(app, alice, session["id"], {"prompt_text": "a fox"})
        assert third["seed"] == 7  # the session's last parameters carry the seed asked for

    async def test_a_failed_generation_says_why_and_counts(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        generation = await _generate(app, alice, session["id"], GENERATE)
        await comfyui.fail(generation["prompt_id"], "CUDA out of memory")
        failed = await _generation(app, alice, generation["id"], "failed")
        assert failed["error"] == (
            "ComfyUI failed at node 3 (KSampler): torch.OutOfMemoryError: CUDA out of memory"
        )
        assert failed["outputs"] == []
        url = f"/api/comfyui/sessions/{session['id']}"
        counted = data_of(await app.client.get(url, headers=alice.headers))
        assert (counted["generation_count"], counted["failed_count"]) == (1, 1)

    async def test_a_generation_whose_job_was_cancelled_reads_failed(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        generation = await _generate(app, alice, session["id"], GENERATE)
        jobs = await app.run(lambda s: s.jobs.list_jobs(alice.id, type=COMFY_GENERATION))
        await app.run(lambda s: s.jobs.cancel(alice.id, jobs.items[0].id))
        failed = await _generation(app, alice, generation["id"], "failed")
        assert failed["error"] == "The generation was cancelled or timed out"
        url = f"/api/comfyui/sessions/{session['id']}"
        assert data_of(await app.client.get(url, headers=alice.headers))["failed_count"] == 1

    async def test_bad_input_is_a_documented_400(self, app: Harness, comfyui: ComfyFake) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        url = f"/api/comfyui/sessions/{session['id']}/generate"
        missing = await app.client.post(url, headers=alice.headers, json={"parameters": {}})
        assert "prompt_text" in error_of(missing, 400, "VALIDATION_ERROR")
        odd = {"prompt_text": "x", "parameters": {"width": 100}}
        error_of(await app.client.post(url, headers=alice.headers, json=odd), 400)
        sampler = {"prompt_text": "x", "parameters": {"sampler_name": "nope"}}
        message = error_of(await app.client.post(url, headers=alice.headers, json=sampler), 400)
        assert "unknown sampler 'nope'" in message
        unknown = {"prompt_text": "x", "workflow_id": "00000000-0000-0000-0000-000000000000"}
        error_of(await app.client.post(url, headers=alice.headers, json=unknown), 404)
        assert comfyui.pending == []

    async def test_deleting_a_generation_deletes_its_image(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        generation = await _generate(app, alice, session["id"], GENERATE)
        await comfyui.run(generation["prompt_id"])
        done = await _generation(app, alice, generation["id"], "complete")
        name = done["outputs"][0]["filename"]
        url = f"/api/comfyui/generations/{generation['id']}"
        assert message_of(await app.client.delete(url, headers=alice.headers)) == (
            "Generation deleted"
        )
        error_of(await app.client.get(url, headers=alice.headers), 404)
        error_of(await app.client.get(f"/api/comfyui/image/{name}", headers=alice.headers), 404)

    async def test_deleting_a_running_generation_interrupts_comfyui(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        generation = await _generate(app, alice, session["id"], GENERATE)
        await comfyui.begin(generation["prompt_id"])
        url = f"/api/comfyui/sessions/{session['id']}"
        message_of(await app.client.delete(url, headers=alice.headers))
        await eventually(
            # From the request itself, and from the job when its handler hears in time.
            lambda: {"prompt_id": generation["prompt_id"]} in comfyui.interrupts,
            timeout=10,
            what="the prompt to be interrupted on ComfyUI",
        )


class TestGenerationsAndImages:
    async def test_the_workflow_snapshot_reproduces_the_generation(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        generation = await _generate(app, alice, session["id"], GENERATE)
        url = f"/api/comfyui/generations/{generation['id']}/workflow"
        snapshot = data_of(await app.client.get(url, headers=alice.headers))
        assert snapshot["generation_id"] == generation["id"]
        assert snapshot["workflow_json"] == comfyui.pending[0].prompt
        assert snapshot["parameters"]["seed"] == generation["seed"]
        assert snapshot["prompt_text"] == GENERATE["prompt_text"]
        assert snapshot["negative_prompt"] == GENERATE["negative_prompt"]

    async def test_another_users_generation_and_image_are_not_found(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        bob = await app.user("bob@example.com")
        generation = await _generate(app, alice, (await _session(app, alice))["id"], GENERATE)
        await comfyui.run(generation["prompt_id"])
        done = await _generation(app, alice, generation["id"], "complete")
        url = f"/api/comfyui/generations/{generation['id']}"
        for path in (url, f"{url}/workflow"):
            error_of(await app.client.get(path, headers=bob.headers), 404)
        error_of(await app.client.delete(url, headers=bob.headers), 404)
        image = f"/api/comfyui/image/{done['outputs'][0]['filename']}"
        error_of(await app.client.get(image, headers=bob.headers), 404)

    @pytest.mark.parametrize(
        "path",
        [
            "/api/comfyui/image/..%2Fswitchboard_00001_.png",
            "/api/comfyui/image/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/api/comfyui/image/..%5Cswitchboard_00001_.png",
            "/api/comfyui/image/sub/switchboard_00001_.png",
            "/api/comfyui/image/.switchboard_00001_.png",
            "/api/comfyui/image/switchboard_00001_.png?subfolder=..",
            "/api/comfyui/image/switchboard_00001_.png?subfolder=%2Ftmp",
            "/api/comfyui/image/switchboard_00001_.png?type=..%2Foutput",
            "/api/comfyui/image/switchboard_00001_.png?type=input",
            "/api/comfyui/image/never_made.png",
        ],
    )
    async def test_the_image_proxy_serves_only_exact_names_of_own_outputs(
        self, app: Harness, comfyui: ComfyFake, path: str
    ) -> None:
        alice = await app.user("alice@example.com")
        generation = await _generate(app, alice, (await _session(app, alice))["id"], GENERATE)
        await comfyui.run(generation["prompt_id"])
        await _generation(app, alice, generation["id"], "complete")
        error_of(await app.client.get(path, headers=alice.headers), 404, "NOT_FOUND")

    async def test_a_file_only_comfyui_has_is_not_proxied(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        comfyui.files[("ComfyUI_00042_.png", "", "output")] = png()
        url = "/api/comfyui/image/ComfyUI_00042_.png"
        error_of(await app.client.get(url, headers=alice.headers), 404)
        assert not [r for r in comfyui.upstream.requests if r.path == "/view"]


class TestWorkflows:
    async def test_parameters_are_extracted_and_defaults_set(self, app: Harness) -> None:
        alice = await app.user("alice@example.com")
        created = await _workflow(app, alice)
        assert created["name"] == "SDXL txt2img"
        extracted = {(p["nodeId"], p["field"]): p for p in created["extracted_parameters"]}
        assert extracted[("3", "seed")] | {"parameter": None} == {
            "nodeId": "3", "field": "seed", "type": "seed", "value": 42, "parameter": None,
        }  # fmt: skip
        assert extracted[("3", "steps")]["type"] == "number"
        assert extracted[("6", "text")]["parameter"] == "prompt_text"
        assert extracted[("7", "text")]["parameter"] == "negative_prompt"
        assert extracted[("4", "ckpt_name")]["type"] == "checkpoint"
        assert extracted[("5", "width")]["value"] == 512
        listed = data_of(await app.client.get("/api/comfyui/workflows", headers=alice.headers))
        assert listed[0]["generation_count"] == 0 and "workflow_json" not in listed[0]
        assert listed[0]["default_parameters"] == {"steps": 4, "cfg_scale": 7.0}
        url = f"/api/comfyui/workflows/{created['id']}"
        got = data_of(await app.client.get(url, headers=alice.headers))
        assert got["workflow_json"] == text_to_image() and got["is_default"] is False
        updated = data_of(
            await app.client.put(
                url, headers=alice.headers, json={"name": "SDXL txt2img v2", "description": "v2"}
            )
        )
        assert (updated["name"], updated["description"]) == ("SDXL txt2img v2", "v2")
        body = {"default_parameters": {"steps": 30, "cfg_scale": 8}, "is_default": True}
        marked = data_of(
            await app.client.patch(f"{url}/parameters", headers=alice.headers, json=body)
        )
        assert marked["is_default"] is True
        assert marked["default_parameters"] == {"steps": 30, "cfg_scale": 8.0}
        other = await _workflow(app, alice, name="Other")
        other_url = f"/api/comfyui/workflows/{other['id']}/parameters"
        data_of(await app.client.patch(other_url, headers=alice.headers, json={"is_default": True}))
        first = data_of(await app.client.get(url, headers=alice.headers))
        assert first["is_default"] is False  # one default workflow per user
        assert message_of(await app.client.delete(url, headers=alice.headers)) == (
            "Workflow deleted"
        )
        error_of(await app.client.get(url, headers=alice.headers), 404)

    async def test_execute_writes_the_parameters_into_the_graph(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        workflow = await _workflow(app, alice)
        url = f"/api/comfyui/workflows/{workflow['id']}"
        body = {"parameters": {"prompt": "A beautiful sunset", "seed": 12345}}
        run = data_of(
            await app.client.post(f"{url}/execute", headers=alice.headers, json=body), 201
        )
        assert (run["prompt_text"], run["seed"], run["steps"]) == ("A beautiful sunset", 12345, 4)
        assert run["workflow_id"] == workflow["id"] and run["session_id"] is None
        graph = comfyui.pending[0].prompt
        assert graph["6"]["inputs"]["text"] == "A beautiful sunset"
        assert graph["3"]["inputs"]["seed"] == 12345
        assert graph["7"]["inputs"]["text"] == "blurry"  # left as the graph has it
        await comfyui.run(run["prompt_id"])
        await _generation(app, alice, run["id"], "complete")
        listed = data_of(await app.client.get(f"{url}/generations", headers=alice.headers))
        assert [(g["id"], g["status"]) for g in listed] == [(run["id"], "complete")]
        counted = data_of(await app.client.get(url, headers=alice.headers))
        assert counted["generation_count"] == 1

    async def test_a_session_generates_with_a_chosen_workflow_and_keeps_it(
        self, app: Harness, comfyui: ComfyFake
    ) -> None:
        alice = await app.user("alice@example.com")
        workflow = await _workflow(app, alice)
        session = await _session(app, alice)
        body = {"prompt_text": "a castle", "workflow_id": workflow["id"]}
        first = await _generate(app, alice, session["id"], body)
        assert first["workflow_id"] == workflow["id"] and first["steps"] == 4
        url = f"/api/comfyui/sessions/{session['id']}"
        got = data_of(await app.client.get(url, headers=alice.headers))
        assert got["current_workflow_id"] == workflow["id"]
        second = await _generate(app, alice, session["id"], {"prompt_text": "a tower"})
        assert second["workflow_id"] == workflow["id"]

    async def test_bad_workflows_and_other_users_workflows(self, app: Harness) -> None:
        alice = await app.user("alice@example.com")
        bob = await app.user("bob@example.com")
        editor = {"name": "x", "workflowJson": {"nodes": [], "links": []}}
        response = await app.client.post(
            "/api/comfyui/workflows", headers=alice.headers, json=editor
        )
        assert "Save (API Format)" in error_of(response, 400, "VALIDATION_ERROR")
        missing = {"name": "x"}
        response = await app.client.post(
            "/api/comfyui/workflows", headers=alice.headers, json=missing
        )
        error_of(response, 400, "VALIDATION_ERROR")
        workflow = await _workflow(app, alice)
        url = f"/api/comfyui/workflows/{workflow['id']}"
        error_of(await app.client.get(url, headers=bob.headers), 404)
        error_of(await app.client.put(url, headers=bob.headers, json={"name": "y"}), 404)
        error_of(await app.client.post(f"{url}/execute", headers=bob.headers, json={}), 404)
        error_of(await app.client.get(f"{url}/generations", headers=bob.headers), 404)
        assert data_of(await app.client.get("/api/comfyui/workflows", headers=bob.headers)) == []


class TestLegacyPrompt:
    async def test_a_text_prompt_in_a_session(self, app: Harness, comfyui: ComfyFake) -> None:
        alice = await app.user("alice@example.com")
        session = await _session(app, alice)
        body = {
            "sessionId": session["id"],
            "prompt": "A beautiful sunset",
            "negativePrompt": "blurry",
        }
        generation = data_of(
            await app.client.post("/api/comfyui/prompt", headers=alice.headers, json=body), 201
        )
        assert generation["session_id"] == session["id"] and generation["status"] == "running"
        assert (generation["prompt_text"], generation["negative_prompt"]) == (
            "A beautiful sunset",
            "blurry",
        )

    async def test_a_raw_workflow_runs_as_is(self, app: Harness, comfyui: ComfyFake) -> None:
        alice = await app.user("alice@example.com")
        graph = text_to_image(steps=3)
        generation = data_of(
            await app.client.post(
                "/api/comfyui/prompt", headers=alice.headers, json={"prompt": graph}
            ),
            201,
        )
        assert comfyui.pending[0].prompt == graph
        assert (generation["steps"], generation["seed"]) == (3, 42)
        await comfyui.run(generation["prompt_id"])
        await _generation(app, alice, generation["id"], "complete")


class TestComfyUIAway:
    async def test_comfyui_down_is_503_in_the_documents_words(
        self, harness_factory: Callable[..., Awaitable[Harness]]
    ) -> None:
        app = await harness_factory(comfyui_url="http://127.0.0.1:9")
        alice = await app.user("alice@example.com")
        response = await app.client.get("/api/comfyui/options", headers=alice.headers)
        assert error_of(response, 503, "PROVIDER_CONNECTION_ERROR") == (
            "Cannot connect to ComfyUI. Is it running?"
        )
        session = await _session(app, alice)
        url = f"/api/comfyui/sessions/{session['id']}/generate"
        response = await app.client.post(url, headers=alice.headers, json=GENERATE)
        assert "Cannot connect to ComfyUI" in error_of(response, 503, "PROVIDER_CONNECTION_ERROR")
        got = data_of(
            await app.client.get(f"/api/comfyui/sessions/{session['id']}", headers=alice.headers)
        )
        assert got["generation_count"] == 0

    async def test_comfyui_not_configured_is_503_saying_so(self, harness: Harness) -> None:
        alice = await harness.user("alice@example.com")
        response = await harness.client.get("/api/comfyui/options", headers=alice.headers)
        assert "ComfyUI is not configured" in error_of(response, 503, "PROVIDER_CONNECTION_ERROR")

    async def test_an_api_key_needs_the_images_scope(self, app: Harness) -> None:
        carol = await app.user("carol@example.com", scopes=["chat"])
        response = await app.client.get("/api/comfyui/sessions", headers=carol.headers)
        error_of(response, 403, "FORBIDDEN")
