"""What the vendor adapters' tests share: an endpoint on a fake, a request, a stream read out."""

from __future__ import annotations

from switchboard.core.llm import ChatMessage, ChatRequest, StreamEvent, ToolSpec
from switchboard.core.providers.ports import ChatProvider, ProviderEndpoint
from tests.fixtures.upstreams.base import FakeUpstream

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def fake_endpoint(
    kind: str,
    upstream: FakeUpstream,
    *,
    key: str | None,
    base_url: str | None = None,
    trusted: bool = True,
) -> ProviderEndpoint:
    """An endpoint of `kind` pointing at `upstream` (or at `base_url`)."""
    return ProviderEndpoint(
        kind=kind, provider=kind, base_url=base_url or upstream.url, api_key=key, trusted=trusted
    )


def chat_request(model: str, text: str = "hello there", **kwargs: object) -> ChatRequest:
    """A system prompt and one user message for `model`."""
    messages = [ChatMessage("system", "be brief"), ChatMessage("user", text)]
    return ChatRequest(model=model, messages=messages, **kwargs)  # type: ignore[arg-type]


async def collect(provider: ChatProvider, request: ChatRequest) -> list[StreamEvent]:
    """Every event of a streamed reply."""
    return [event async for event in provider.stream_chat(request)]
