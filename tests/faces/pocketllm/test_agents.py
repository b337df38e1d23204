"""Contract: `/v1/prompt-enhancer/improve` and `/v1/agents/*` (bare answers)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from switchboard.faces.pocketllm.routes.agents import ENHANCER_MODEL
from tests.faces.pocketllm.conftest import Account, data_of, error_of, sign_up_and_in
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

pytestmark = pytest.mark.asyncio

IMPROVE = {
    "prompt": "Draw a dragon in the mountains",
    "task": "image_generation",
    "session_id": "chat-session-123",
}
ENHANCED = {
    "enhanced_prompt": "Cinematic illustration of a crimson dragon over alpine peaks",
    "guidance": "Emphasize lighting.",
}


@pytest.fixture
async def app(
    harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
) -> Harness:
    return await harness_factory(
        openai_api_key=OPENAI_TEST_KEY, openai_base_url=openai_upstream.url + "/v1"
    )


class TestImprove:
    async def test_golden_with_a_json_answer(
        self, app: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        answer = "```json\n" + json.dumps(ENHANCED) + "\n```"
        openai_upstream.reply(answer)
        response = await app.client.post(
            "/v1/prompt-enhancer/improve",
            headers=alice.headers,
            json={**IMPROVE, "model": "openai/fake-model"},
        )
        assert response.status_code == 200
        assert response.json() == {
            "task": "image_generation",
            "enhanced_prompt": ENHANCED["enhanced_prompt"],
            "guidance": ENHANCED["guidance"],
            "raw_response": answer,
        }
        sent = [r for r in openai_upstream.requests if r.path.endswith("/chat/completions")][-1]
        system = sent.body["messages"][0]["content"]
        assert "image" in system.lower() and "lighting" in system.lower()

    async def test_plain_text_answer_is_the_prompt(self, harness: Harness, alice: Account) -> None:
        # The default model is the built-in echo: not JSON at all.
        response = await harness.client.post(
            "/v1/prompt-enhancer/improve", headers=alice.headers, json={"prompt": "hello"}
        )
        body = response.json()
        assert body["task"] == "general"
        assert body["enhanced_prompt"] == "Echo: hello" == body["raw_response"]
        assert body["guidance"] is None

    async def test_groq_is_the_default_when_configured(
        self, harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
    ) -> None:
        harness = await harness_factory(groq_api_key="gsk-test")
        alice = await sign_up_and_in(harness.client, "alice@example.com")

        async def model(services):  # type: ignore[no-untyped-def]
            return await services.agents.choose_model(alice.id, preferred=ENHANCER_MODEL)

        assert str(await harness.run(model)) == "groq/openai/gpt-oss-120b"

    async def test_saved_default_is_used_without_groq(
        self, harness: Harness, alice: Account
    ) -> None:
        await harness.client.post(
            "/v1/models/import",
            headers=alice.headers,
            json={"provider": "openai", "selections": [{"id": "gpt-4o-mini"}]},
        )

        async def model(services):  # type: ignore[no-untyped-def]
            return await services.agents.choose_model(alice.id)

        assert str(await harness.run(model)) == "openai/gpt-4o-mini"

    async def test_ten_per_minute(self, harness: Harness, alice: Account) -> None:
        for _ in range(10):
            response = await harness.client.post(
                "/v1/prompt-enhancer/improve", headers=alice.headers, json={"prompt": "x"}
            )
            assert response.status_code == 200
        limited = await harness.client.post(
            "/v1/prompt-enhancer/improve", headers=alice.headers, json={"prompt": "x"}
        )
        error_of(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "prompt"),
            ({"prompt": ""}, "prompt"),
            ({"prompt": "x", "task": "t" * 65}, "task"),
            ({"prompt": "x", "session_id": "s" * 201}, "session_id"),
            ({"prompt": "x", "model": "nope-model"}, "model"),
        ],
    )
    async def test_bad_input(
        self, harness: Harness, alice: Account, body: dict[str, object], field: str
    ) -> None:
        response = await harness.client.post(
            "/v1/prompt-enhancer/improve", headers=alice.headers, json=body
        )
        assert field in error_of(response, 400)


class TestAgents:
    async def test_list_golden(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.get("/v1/agents/list", headers=alice.headers)
        body = response.json()
        assert set(body) == {"agents", "discovered_components"}
        assert body["agents"] == [
            {
                "name": "prompt_enhancer",
                "description": "Enhances user prompts according to the requested task category.",
                "capabilities": ["prompt_optimization", "task_routing", "contextual_memory"],
            },
            {
                "name": "workflow",
                "description": (
                    "Multi-step coordinator that enhances prompts and dispatches to specialist "
                    "agents."
                ),
                "capabilities": ["prompt_enhancement", "task_routing", "multi_agent_execution"],
            },
        ]
        assert set(body["discovered_components"]) == {"agents", "tools"}

    async def test_workflow_golden_with_memory(
        self, app: Harness, openai_upstream: FakeUpstream
    ) -> None:
        alice = await sign_up_and_in(app.client, "alice@example.com")
        run = {
            "agent": "workflow",
            "prompt": "Summarize yesterday's meeting notes",
            "task": "summarization",
            "session_id": "chat-session-123",
            "metadata": {"audience": "product_team", "tests": ["import os; os.system('x')"]},
            "model": "openai/fake-model",
        }
        openai_upstream.reply(
            json.dumps({"enhanced_prompt": "Summarize the notes", "guidance": "g"})
        )
        openai_upstream.reply("The summary.")
        response = await app.client.post("/v1/agents/run", headers=alice.headers, json=run)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"agent", "output", "data"}
        assert body["agent"] == "workflow" and body["output"] == "The summary."
        data = body["data"]
        assert set(data) == {"task", "enhanced_prompt", "result", "metadata"}
        assert data["task"] == "summarization"
        assert data["enhanced_prompt"] == "Summarize the notes"
        assert data["result"] == "The summary."
        assert data["metadata"]["enhancement"]["enhanced_prompt"] == "Summarize the notes"
        execution = data["metadata"]["execution"]
        assert execution["sources"] == [] and execution["ignored_metadata"] == ["tests"]
        answer_call = [r for r in openai_upstream.requests if r.path.endswith("/chat/completions")][
            -1
        ]
        sent = json.dumps(answer_call.body)
        assert "product_team" in sent and "os.system" not in sent

        # Same session: the first turn comes back as memory.
        openai_upstream.reply(json.dumps({"enhanced_prompt": "And the actions?"}))
        openai_upstream.reply("Actions.")
        await app.client.post(
            "/v1/agents/run", headers=alice.headers, json={**run, "prompt": "And the actions?"}
        )
        answer_call = [r for r in openai_upstream.requests if r.path.endswith("/chat/completions")][
            -1
        ]
        contents = [m["content"] for m in answer_call.body["messages"]]
        assert "Summarize yesterday's meeting notes" in contents and "The summary." in contents

        # Memory is per user: Bob's identical session id starts empty.
        bob = await sign_up_and_in(app.client, "bob@example.com")
        openai_upstream.reply(json.dumps({"enhanced_prompt": "p"}))
        openai_upstream.reply("r")
        await app.client.post("/v1/agents/run", headers=bob.headers, json=run)
        answer_call = [r for r in openai_upstream.requests if r.path.endswith("/chat/completions")][
            -1
        ]
        assert "The summary." not in json.dumps(answer_call.body)

    async def test_prompt_enhancer_agent(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.post(
            "/v1/agents/run",
            headers=alice.headers,
            json={"agent": "prompt_enhancer", "prompt": "hi", "task": "coding"},
        )
        body = response.json()
        assert body["agent"] == "prompt_enhancer" and body["output"] == "Echo: hi"
        assert body["data"]["task"] == "coding"

    async def test_unknown_agent_is_400(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.post(
            "/v1/agents/run", headers=alice.headers, json={"agent": "python_repl", "prompt": "x"}
        )
        assert "agent" in error_of(response, 400)

    async def test_agent_memory_is_not_a_chat(self, harness: Harness, alice: Account) -> None:
        await harness.client.post(
            "/v1/agents/run",
            headers=alice.headers,
            json={"agent": "workflow", "prompt": "x", "session_id": "s1"},
        )
        assert data_of(await harness.client.get("/v1/chats", headers=alice.headers)) == []
