"""The Ollama adapter over a desktop bridge: the in-memory relay, a forwarding desktop
and the fake Ollama behind it, with the direct adapter's contract."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from switchboard.adapters.bridge import MemoryBridgeRelay
from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.factory import DefaultProviderFactory
from switchboard.adapters.providers.ollama import OllamaProvider
from switchboard.adapters.providers.ollama.relay import RelayTransport, bridged_ollama
from switchboard.core.errors import (
    Invalid,
    RateLimited,
    SwitchboardError,
    Timeout,
    UpstreamUnavailable,
)
from switchboard.core.llm import FinishReason, StreamEnd, TextDelta, ToolCallDelta
from switchboard.core.providers.ports import ProviderEndpoint
from tests.adapters.providers.test_ollama_adapter import FAULTS, MODEL, ask
from tests.adapters.providers.vendor_kit import WEATHER, collect
from tests.fixtures.bridge import ForwardingDesktop
from tests.fixtures.network import refusing_port
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.ollama_fake import embedding, stream_log
from tests.fixtures.waiting import eventually

BRIDGE = "desk-1"


def bridged(
    bridge_id: str = BRIDGE, kind: str = "ollama", key: str | None = None
) -> ProviderEndpoint:
    return ProviderEndpoint(kind=kind, provider="ollama", api_key=key, bridge_id=bridge_id)


@pytest.fixture
def relay() -> MemoryBridgeRelay:
    return MemoryBridgeRelay()


@pytest.fixture
async def desktop(
    relay: MemoryBridgeRelay, ollama_upstream: FakeUpstream
) -> AsyncIterator[ForwardingDesktop]:
    async with ForwardingDesktop(relay, BRIDGE, ollama_upstream.url) as desktop:
        yield desktop


def provider(
    relay: MemoryBridgeRelay,
    clients: OutboundClients,
    *,
    timeout: float = 5.0,
    endpoint: ProviderEndpoint | None = None,
) -> OllamaProvider:
    return bridged_ollama(endpoint or bridged(), relay, clients, timeout, 2.0)


class TestOverTheBridge:
    async def test_list_models(
        self,
        relay: MemoryBridgeRelay,
        desktop: ForwardingDesktop,
        ollama_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
    ) -> None:
        models = await provider(relay, vendor_clients).list_models()
        assert [m.id for m in models] == ["llama-fake:latest", "nomic-fake:latest"]
        assert models[1].capabilities == ("embeddings",)
        assert [f.request.path for f in desktop.requests] == ["/api/tags"]
        assert ollama_upstream.requests[-1].path == "/api/tags"

    async def test_chat(
        self,
        relay: MemoryBridgeRelay,
        desktop: ForwardingDesktop,
        ollama_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
    ) -> None:
        result = await provider(relay, vendor_clients).chat(ask("hello there", seed=7))
        assert result.text == "echo: hello there"
        assert result.finish_reason is FinishReason.STOP
        sent = ollama_upstream.requests[-1]
        assert sent.body["model"] == MODEL
        assert sent.body["stream"] is False
        assert sent.body["options"]["seed"] == 7

    async def test_stream_deltas_in_order(
        self, relay: MemoryBridgeRelay, desktop: ForwardingDesktop, vendor_clients: OutboundClients
    ) -> None:
        events = await collect(provider(relay, vendor_clients), ask("one two three four"))
        assert all(isinstance(e, TextDelta) for e in events[:-1])
        assert len(events) > 4
        text = "".join(e.text for e in events[:-1] if isinstance(e, TextDelta))
        assert text == "echo: one two three four"
        end = events[-1]
        assert isinstance(end, StreamEnd)
        assert end.finish_reason is FinishReason.STOP
        assert end.usage is not None
        assert end.usage.completion_tokens == 5

    async def test_tool_calls(
        self, relay: MemoryBridgeRelay, desktop: ForwardingDesktop, vendor_clients: OutboundClients
    ) -> None:
        p = provider(relay, vendor_clients)
        result = await p.chat(ask("rain?", tools=[WEATHER]))
        assert [c.name for c in result.tool_calls] == ["get_weather"]
        events = await collect(p, ask("rain?", tools=[WEATHER]))
        deltas = [e for e in events if isinstance(e, ToolCallDelta)]
        assert [(d.name, json.loads(d.arguments)) for d in deltas] == [
            ("get_weather", {"input": "rain?"})
        ]
        assert isinstance(events[-1], StreamEnd)
        assert events[-1].finish_reason is FinishReason.TOOL_CALLS

    async def test_embed(
        self, relay: MemoryBridgeRelay, desktop: ForwardingDesktop, vendor_clients: OutboundClients
    ) -> None:
        result = await provider(relay, vendor_clients).embed("nomic-fake", ["a", "b"])
        assert result.vectors == [embedding("a"), embedding("b")]

    async def test_model_administration(
        self, relay: MemoryBridgeRelay, desktop: ForwardingDesktop, vendor_clients: OutboundClients
    ) -> None:
        p = provider(relay, vendor_clients)
        assert [m.name for m in await p.local_models()] == [
            "llama-fake:latest",
            "nomic-fake:latest",
        ]
        assert (await p.model_details("llama-fake")).family == "llama"

    async def test_early_close_cancels_on_the_desktop(
        self,
        relay: MemoryBridgeRelay,
        desktop: ForwardingDesktop,
        ollama_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
    ) -> None:
        ollama_upstream.reply(" ".join(f"w{i}" for i in range(400)))
        ollama_upstream.chunk_delay = 0.01
        closed_before = stream_log(ollama_upstream)["closed"]
        stream = provider(relay, vendor_clients).stream_chat(ask())
        assert isinstance(await anext(stream), TextDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        assert desktop.cancelled == [desktop.requests[-1].id]
        # The desktop stops its own request to Ollama.
        await eventually(lambda: stream_log(ollama_upstream)["closed"] == closed_before + 1)

    async def test_secrets_stay_here(
        self, relay: MemoryBridgeRelay, desktop: ForwardingDesktop, vendor_clients: OutboundClients
    ) -> None:
        endpoint = bridged(key="sk-never-to-the-desktop")
        await provider(relay, vendor_clients, endpoint=endpoint).chat(ask())
        headers = desktop.requests[-1].request.headers
        assert "authorization" not in headers
        assert headers["content-type"] == "application/json"


class TestErrors:
    async def test_bridge_offline(
        self, relay: MemoryBridgeRelay, vendor_clients: OutboundClients
    ) -> None:
        p = provider(relay, vendor_clients)
        calls = (p.list_models, lambda: p.chat(ask()), lambda: collect(p, ask()))
        for call in calls:
            with pytest.raises(UpstreamUnavailable) as caught:
                await call()
            assert caught.value.code == "bridge_offline"
            assert caught.value.message == f"The desktop bridge {BRIDGE} is not connected"

    async def test_desktop_cannot_reach_its_ollama(
        self, relay: MemoryBridgeRelay, vendor_clients: OutboundClients
    ) -> None:
        with refusing_port() as port:
            async with ForwardingDesktop(relay, BRIDGE, f"http://127.0.0.1:{port}"):
                with pytest.raises(UpstreamUnavailable) as caught:
                    await provider(relay, vendor_clients).chat(ask())
        assert caught.value.code == "bridge_error"

    @pytest.mark.parametrize(("fault", "kind", "code"), FAULTS)
    async def test_same_kinds_as_direct(
        self,
        relay: MemoryBridgeRelay,
        desktop: ForwardingDesktop,
        ollama_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
        fault: dict[str, float],
        kind: type[SwitchboardError],
        code: str,
    ) -> None:
        p = provider(relay, vendor_clients, timeout=0.5)
        for call in (lambda: p.chat(ask()), lambda: collect(p, ask())):
            ollama_upstream.fail(message="leak body", **fault)
            with pytest.raises(kind) as caught:
                await call()
            assert type(caught.value) is kind
            # The relay's idle limit and the call's deadline race: either names a timeout.
            timeouts = {"timeout", "bridge_timeout"}
            assert caught.value.code in (timeouts if kind is Timeout else {code})
            assert "leak" not in str(caught.value)
            if kind is RateLimited:
                assert caught.value.retry_after == 7

    async def test_broken_stream(
        self,
        relay: MemoryBridgeRelay,
        desktop: ForwardingDesktop,
        ollama_upstream: FakeUpstream,
        vendor_clients: OutboundClients,
    ) -> None:
        ollama_upstream.fail(drop_after=2)
        with pytest.raises(UpstreamUnavailable):
            await collect(provider(relay, vendor_clients), ask())


class TestWiring:
    def test_only_ollama_goes_over_a_bridge(
        self, relay: MemoryBridgeRelay, vendor_clients: OutboundClients
    ) -> None:
        factory = DefaultProviderFactory(vendor_clients, relay=relay)
        with pytest.raises(Invalid) as caught:
            factory.provider(bridged(kind="openai"))
        assert caught.value.code == "bridge_kind_unsupported"

    def test_no_relay_no_bridge(self, vendor_clients: OutboundClients) -> None:
        with pytest.raises(Invalid) as caught:
            DefaultProviderFactory(vendor_clients).provider(bridged())
        assert caught.value.code == "bridge_unavailable"

    async def test_factory_builds_bridged_providers(
        self, relay: MemoryBridgeRelay, desktop: ForwardingDesktop, vendor_clients: OutboundClients
    ) -> None:
        factory = DefaultProviderFactory(vendor_clients, relay=relay)
        direct = factory.provider(ProviderEndpoint(kind="ollama", provider="ollama"))
        over_bridge = factory.provider(bridged())
        assert over_bridge is not direct
        assert len(await over_bridge.list_models()) == 2
        assert len(desktop.requests) == 1

    @pytest.mark.parametrize(
        "path",
        ["/", "/etc/passwd", "/api", "/api/../admin", "/api/%2e%2e/admin", "/v1/chat", "/api//x"],
    )
    async def test_only_ollama_api_paths_are_relayed(
        self, relay: MemoryBridgeRelay, desktop: ForwardingDesktop, path: str
    ) -> None:
        transport = RelayTransport(relay, BRIDGE, 5.0)
        async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
            with pytest.raises(Invalid) as caught:
                await client.get(path)
            assert caught.value.code == "bridge_path_refused"
            assert (await client.get("/api/tags?x=1")).status_code == 200
        assert [f.request.path for f in desktop.requests] == ["/api/tags?x=1"]
