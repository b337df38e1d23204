"""Spoon Feeder's Socket.IO events (its "WebSocket Events" section), end to end: a real
server, a real Socket.IO client, a text task on the built-in echo provider and an image
generation on the fake ComfyUI, each followed event by event, then downloaded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import socketio

from switchboard.core.events.errors import BusUnavailable
from switchboard.core.events.schemas import user_topic
from tests.fixtures.app import User, make_settings
from tests.fixtures.live_app import LiveApp, serving
from tests.fixtures.upstreams.comfyui_fake import ComfyFake, png

pytestmark = pytest.mark.usefixtures("_empty_tables_after")

TEXT_TASK = {
    "name": "Product Description",
    "type": "text",
    "provider": "echo",
    "prompt": "Write a product description for a smart water bottle",
}
GENERATE = {
    "prompt_text": "A majestic dragon flying over a castle at sunset",
    "parameters": {"width": 512, "height": 512, "steps": 4, "seed": 7},
}
# The shapes the document shows for each event (the keys a client reads).
TASK_STARTED = {"taskId", "startedAt"}
TASK_PROGRESS = {"taskId", "progress", "message"}
TASK_COMPLETED = {"taskId", "result"}
GENERATION_STARTED = {"generationId", "promptId", "sessionId"}
GENERATION_PROGRESS = {"generationId", "node", "progress"}
GENERATION_COMPLETED = {"generationId", "outputs"}


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, migrated_url: str, comfyui_server: ComfyFake
) -> Iterator[LiveApp]:
    """The whole app on loopback, running its own jobs, with the fake ComfyUI; local
    trust off (every socket shows a credential)."""
    settings = make_settings(
        tmp_path_factory.mktemp("spoonfeeder-sockets"),
        migrated_url,
        comfyui_url=comfyui_server.url,
        local_trust="off",
    )
    with serving(settings, name="spoonfeeder-socketio") as app:
        yield app


@dataclass
class Client:
    """A connected Socket.IO client and every event it received, in order."""

    sio: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, name: str, **match: Any) -> dict[str, Any]:
        """The first `name` event whose data has `match`'s values (waiting for it)."""

        def found() -> dict[str, Any] | None:
            for event, data in self.events:
                if event == name and all(data.get(k) == v for k, v in match.items()):
                    return dict(data)
            return None

        async def wait() -> dict[str, Any]:
            while (data := found()) is None:
                self.arrived.clear()
                await self.arrived.wait()
            return data

        return await asyncio.wait_for(wait(), 10)

    def named(self, prefix: str, **match: Any) -> list[tuple[str, dict[str, Any]]]:
        """The events whose name starts with `prefix` and whose data has `match`."""
        return [
            (event, data)
            for event, data in self.events
            if event.startswith(prefix) and all(data.get(k) == v for k, v in match.items())
        ]


@pytest.fixture
async def connect(live: LiveApp) -> AsyncIterator[Any]:
    """Connect clients that record every event; disconnected after the test."""
    clients: list[Client] = []

    async def make(auth: dict[str, str] | None) -> Client:
        client = Client(socketio.AsyncClient(reconnection=False))

        async def record(event: str, data: Any = None) -> None:
            client.events.append((event, data))
            client.arrived.set()

        client.sio.on("*", record)
        clients.append(client)
        # A busy machine can take seconds to accept: the wait is not what is tested.
        await client.sio.connect(live.url, auth=auth, transports=["websocket"], wait_timeout=30)
        return client

    yield make
    for client in clients:
        await client.sio.disconnect()


async def post(live: LiveApp, user: User, path: str, body: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=live.url, headers=user.headers) as http:
        response = await http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def get(live: LiveApp, user: User, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live.url, headers=user.headers) as http:
        return await http.get(path)


class TestTasks:
    async def test_a_task_is_followed_from_created_to_completed_then_downloaded(
        self, live: LiveApp, connect: Any
    ) -> None:
        alice = await live.user()
        client = await connect({"token": alice.api_key})
        task = await post(live, alice, "/api/tasks", TEXT_TASK)
        done = await client.until("task:completed", taskId=task["id"])
        names = [name for name, data in client.named("task:") if _task_id(data) == task["id"]]
        assert names[:3] == ["task:created", "task:pending", "task:started"]
        assert names[-1] == "task:completed"
        assert set(names[3:-1]) <= {"task:progress"}
        created = client.named("task:created")[0][1]["task"]
        assert created["id"] == task["id"] and created["name"] == TEXT_TASK["name"]
        assert created["status"] == "pending" and created["prompt"] == TEXT_TASK["prompt"]
        started = await client.until("task:started", taskId=task["id"])
        assert set(started) == TASK_STARTED and started["startedAt"].endswith("Z")
        for _, progress in client.named("task:progress", taskId=task["id"]):
            assert set(progress) == TASK_PROGRESS and 0 <= progress["progress"] <= 1
        assert set(done) == TASK_COMPLETED
        download = await get(live, alice, f"/api/results/{done['result']['id']}/download")
        assert download.status_code == 200
        assert TEXT_TASK["prompt"] in download.text  # the echo provider's answer

    async def test_a_failed_task_says_why(self, live: LiveApp, connect: Any) -> None:
        alice = await live.user()
        client = await connect({"token": alice.api_key})
        video = TEXT_TASK | {"type": "video", "provider": "comfyui"}
        task = await post(live, alice, "/api/tasks", video)
        failed = await client.until("task:failed", taskId=task["id"])
        assert set(failed) == {"taskId", "error"} and failed["error"]

    async def test_subscribe_task_answers_for_own_tasks_only(
        self, live: LiveApp, connect: Any
    ) -> None:
        alice, bob = await live.user(), await live.user()
        task = await post(live, alice, "/api/tasks", TEXT_TASK)
        own = await connect({"token": alice.api_key})
        other = await connect({"token": bob.api_key})
        assert await own.sio.call("subscribe:task", task["id"], timeout=5) == {
            "success": True,
            "data": {"taskId": task["id"]},
        }
        refused = await other.sio.call("subscribe:task", task["id"], timeout=5)
        assert refused["success"] is False and "not found" in refused["error"]

    async def test_another_users_socket_receives_none_of_it(
        self, live: LiveApp, connect: Any
    ) -> None:
        alice, bob = await live.user(), await live.user()
        bobs = await connect({"token": bob.api_key})
        alices = await connect({"token": alice.api_key})
        task = await post(live, alice, "/api/tasks", TEXT_TASK)
        await alices.until("task:completed", taskId=task["id"])
        # Bob's own task is delivered after Alice's events were emitted: by then he
        # would have received any of hers.
        his = await post(live, bob, "/api/tasks", TEXT_TASK)
        await bobs.until("task:completed", taskId=his["id"])
        assert all(_task_id(data) == his["id"] for _, data in bobs.named("task:"))


class TestGenerations:
    async def test_a_followed_session_gets_its_generation_from_start_to_image(
        self, live: LiveApp, connect: Any, comfyui: ComfyFake
    ) -> None:
        alice = await live.user()
        client = await connect({"token": alice.api_key})
        session = await post(live, alice, "/api/comfyui/sessions", {"title": "Dragons"})
        ack = await client.sio.call("subscribe:session", session["id"], timeout=5)
        assert ack == {"success": True, "data": {"sessionId": session["id"]}}
        generation = await post(
            live, alice, f"/api/comfyui/sessions/{session['id']}/generate", GENERATE
        )
        started = await client.until("generation:started", generationId=generation["id"])
        assert started == {
            "generationId": generation["id"],
            "promptId": generation["prompt_id"],
            "sessionId": session["id"],
        }
        await comfyui.run(generation["prompt_id"])
        completed = await client.until("generation:completed", generationId=generation["id"])
        names = [name for name, _ in client.named("generation:", generationId=generation["id"])]
        assert names[0] == "generation:started" and names[-1] == "generation:completed"
        progress = client.named("generation:progress", generationId=generation["id"])
        assert progress and {name for name in names[1:-1]} == {"generation:progress"}
        assert all(set(data) >= GENERATION_PROGRESS for _, data in progress)
        values = [data["progress"] for _, data in progress]
        assert values == sorted(values)
        assert set(completed) >= GENERATION_COMPLETED
        output = completed["outputs"][0]
        assert {"filename", "subfolder"} <= set(output)
        image = await get(live, alice, f"/api/comfyui/image/{output['filename']}")
        assert image.status_code == 200 and image.content == png()

    async def test_generations_arrive_only_for_followed_sessions_of_ones_own(
        self, live: LiveApp, connect: Any, comfyui: ComfyFake
    ) -> None:
        alice, bob = await live.user(), await live.user()
        session = await post(live, alice, "/api/comfyui/sessions", {"title": "Dragons"})
        unfollowed = await connect({"token": alice.api_key})
        intruder = await connect({"token": bob.api_key})
        refused = await intruder.sio.call("subscribe:session", session["id"], timeout=5)
        assert refused["success"] is False
        follower = await connect({"token": alice.api_key})
        await follower.sio.call("subscribe:session", session["id"], timeout=5)
        generation = await post(
            live, alice, f"/api/comfyui/sessions/{session['id']}/generate", GENERATE
        )
        await comfyui.run(generation["prompt_id"])
        await follower.until("generation:completed", generationId=generation["id"])
        assert not unfollowed.named("generation:") and not intruder.named("generation:")


class TestConnection:
    async def test_notifications_arrive_without_subscribing(
        self, live: LiveApp, connect: Any
    ) -> None:
        alice = await live.user()
        client = await connect({"token": alice.api_key})

        async def notify() -> None:
            async with live.ctx.open_services() as services:
                await services.notifications.notify(alice.id, "Model loaded successfully")

        await live.call(notify)
        assert await client.until("notification") == {
            "type": "info",
            "message": "Model loaded successfully",
        }

    @pytest.mark.parametrize("auth", [None, {"token": "sb-wrong"}])
    async def test_refused_without_a_valid_credential(
        self, connect: Any, auth: dict[str, str] | None
    ) -> None:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect(auth)

    async def test_refused_while_the_event_bus_is_away(
        self, live: LiveApp, connect: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        alice = await live.user()

        async def away(*_: Any, **__: Any) -> Any:
            raise BusUnavailable("The event bus is unavailable")

        monkeypatch.setattr(live.ctx.bus, "subscribe", away)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect({"token": alice.api_key})
        monkeypatch.undo()
        client = await connect({"token": alice.api_key})  # and welcome once it is back
        assert client.sio.connected

    async def test_a_native_client_can_speak_only_its_own_dialect(
        self, live: LiveApp, connect: Any
    ) -> None:
        alice = await live.user()
        native = await connect({"token": alice.api_key, "dialect": "switchboard"})
        both = await connect({"token": alice.api_key})
        for client in (native, both):
            ack = await client.sio.call("subscribe", {"topic": user_topic(alice.id)}, timeout=5)
            assert ack["ok"] is True
        task = await post(live, alice, "/api/tasks", TEXT_TASK)
        await both.until("task:completed", taskId=task["id"])
        await native.until("job.completed")
        assert not native.named("task:")
        assert await native.sio.call("subscribe:task", task["id"], timeout=5) == {
            "success": False,
            "error": "Task not found",
        }


def _task_id(data: dict[str, Any]) -> str | None:
    return data["task"]["id"] if "task" in data else data.get("taskId")


@pytest.fixture
def _empty_tables_after(engine: Any) -> None:
    """Request the engine fixture so the test's rows are removed after it."""
