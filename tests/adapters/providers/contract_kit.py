"""One adapter contract, many vendors: each adapter on its fake, and the built-in echo.

`Vendor` hides what differs between them: how a test scripts the model's tool calls
(a `script.Reply` queued on the fake; echo's `!tool` command) and where the vendor's
request body keeps the tools, the replayed tool results and the thinking switch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.anthropic import AnthropicProvider
from switchboard.adapters.providers.echo.provider import EchoProvider
from switchboard.adapters.providers.gemini import GeminiProvider
from switchboard.adapters.providers.ollama import OllamaProvider
from switchboard.adapters.providers.openai import OpenAIProvider
from switchboard.core.llm import (
    ChatMessage,
    ChatRequest,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
)
from switchboard.core.providers.ports import ChatProvider, ProviderEndpoint
from tests.adapters.providers.vendor_kit import WEATHER
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.upstreams.gemini_fake import normalize
from tests.fixtures.upstreams.script import Call, Reply

VENDORS = ["openai", "anthropic", "gemini", "ollama"]
CLOCK = ToolSpec(
    name="get_time",
    description="The time in a zone",
    parameters={"type": "object", "properties": {"zone": {"type": "string"}}},
)
TOOLS = [WEATHER, CLOCK]
_MODELS = {
    "openai": "fake-model",
    "anthropic": "claude-fake",
    "gemini": "gemini-fake",
    "ollama": "llama-fake:latest",
    "echo": "echo",
}


@dataclass
class Vendor:
    """An adapter under test, with its fake (None for echo)."""

    name: str
    provider: ChatProvider
    upstream: FakeUpstream | None

    @property
    def model(self) -> str:
        """The model the fake (or echo) serves."""
        return _MODELS[self.name]

    def request(self, messages: list[ChatMessage], **kwargs: Any) -> ChatRequest:
        """A request for this vendor's model."""
        return ChatRequest(model=self.model, messages=messages, **kwargs)

    def asking_for(self, *calls: Call, thinking: str = "", **kwargs: Any) -> ChatRequest:
        """A request whose reply makes these tool calls (echo: one at most)."""
        if self.upstream is None:
            assert len(calls) == 1, "echo makes one call per reply"
            text = f"!tool {calls[0].name} {calls[0].json}"
        else:
            self.upstream.replies.append(Reply(calls=calls, thinking=thinking))
            text = "what is the weather?"
        return self.request([ChatMessage("user", text)], tools=TOOLS, **kwargs)

    def sent(self) -> dict[str, Any]:
        """The body of the last request the fake received (Gemini's in lowerCamelCase)."""
        assert self.upstream is not None
        body: dict[str, Any] = self.upstream.requests[-1].body
        return normalize(body) if self.name == "gemini" else body


def endpoint(kind: str, upstream: FakeUpstream, key: str | None) -> ProviderEndpoint:
    """An endpoint of `kind` on `upstream` (loopback: trusted)."""
    url = f"{upstream.url}/v1" if kind == "openai" else upstream.url
    return ProviderEndpoint(kind=kind, provider=kind, base_url=url, api_key=key, trusted=True)


def vendor_under_test(
    name: str, request: pytest.FixtureRequest, clients: OutboundClients
) -> Vendor:
    """The adapter `name` on its (reset) session fake."""
    if name == "echo":
        return Vendor("echo", EchoProvider(ProviderEndpoint(kind="echo", provider="echo")), None)
    upstream: FakeUpstream = request.getfixturevalue(f"{name}_upstream")
    builders: dict[str, Any] = {
        "openai": (OpenAIProvider, OPENAI_TEST_KEY),
        "anthropic": (AnthropicProvider, "test-key"),
        "gemini": (GeminiProvider, "test-key"),
        "ollama": (OllamaProvider, None),
    }
    build, key = builders[name]
    provider = build(endpoint(name, upstream, key), clients, 5.0, 2.0)
    return Vendor(name, provider, upstream)


# -- reading streams ----------------------------------------------------------------------
def streamed_calls(events: list[StreamEvent]) -> list[ToolCall]:
    """The tool calls of a stream, assembled as a client would (first piece: id, name)."""
    heads: dict[int, ToolCallDelta] = {}
    arguments: dict[int, str] = {}
    for event in events:
        if isinstance(event, ToolCallDelta):
            if event.index not in heads:
                assert event.id and event.name, "the first piece of a call names it"
                heads[event.index] = event
            arguments[event.index] = arguments.get(event.index, "") + event.arguments
    return [ToolCall(heads[i].id or "", heads[i].name or "", arguments[i]) for i in sorted(heads)]


def text_of(events: list[StreamEvent]) -> str:
    """The answer text of a stream."""
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def thinking_of(events: list[StreamEvent]) -> str:
    """The thinking of a stream."""
    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))


def end_of(events: list[StreamEvent]) -> StreamEnd:
    """The closing event, which must be last and only there."""
    assert isinstance(events[-1], StreamEnd)
    assert not any(isinstance(e, StreamEnd) for e in events[:-1])
    return events[-1]


def arguments(call: ToolCall) -> Any:
    """A call's arguments, parsed."""
    return json.loads(call.arguments)


# -- reading what the vendor was sent -----------------------------------------------------
def offered_tools(vendor: str, body: dict[str, Any]) -> list[str]:
    """The names of the tools offered, read from the vendor's request body."""
    tools = body.get("tools") or []
    if vendor == "anthropic":
        return [t["name"] for t in tools]
    if vendor == "gemini":
        return [d["name"] for t in tools for d in t.get("functionDeclarations", [])]
    return [t["function"]["name"] for t in tools]


def replayed_results(vendor: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(function name, result) of every tool result in the history, in order."""
    if vendor == "gemini":
        return [
            (p["functionResponse"]["name"], p["functionResponse"]["response"]["result"])
            for c in body["contents"]
            for p in c.get("parts", [])
            if "functionResponse" in p
        ]
    if vendor == "ollama":
        return [(m["tool_name"], m["content"]) for m in body["messages"] if m["role"] == "tool"]
    if vendor == "anthropic":
        blocks = [
            b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]
        ]
        names = {b["id"]: b["name"] for b in blocks if b["type"] == "tool_use"}
        return [
            (names[b["tool_use_id"]], b["content"]) for b in blocks if b["type"] == "tool_result"
        ]
    names = {
        c["id"]: c["function"]["name"] for m in body["messages"] for c in m.get("tool_calls") or []
    }
    return [
        (names[m["tool_call_id"]], m["content"]) for m in body["messages"] if m["role"] == "tool"
    ]


def thinking_asked(vendor: str, body: dict[str, Any]) -> Any:
    """The vendor's thinking switch in a request body (None when absent)."""
    if vendor == "openai":
        return body.get("reasoning_effort")
    if vendor == "anthropic":
        return body.get("thinking")
    if vendor == "gemini":
        return (body.get("generationConfig") or {}).get("thinkingConfig")
    return body.get("think")
