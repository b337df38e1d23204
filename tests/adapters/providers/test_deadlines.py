"""Issue 11 #23: every whole call to a provider has an overall deadline.

The SDKs' timeouts are per read: a server sending one byte every 20 ms never trips a
0.3 s read timeout. Each adapter must give up at its deadline (`Timeout`) instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers import common
from switchboard.adapters.providers.factory import DefaultProviderFactory
from switchboard.core.errors import Timeout
from switchboard.core.llm import ChatMessage, ChatRequest
from switchboard.core.providers.ports import ChatProvider, ProviderEndpoint
from tests.adapters.providers.trickle import Trickle

DEADLINE = 0.3
# Far beyond the deadline, so a pass never depends on the machine's speed; without a
# deadline the call would run until this guard (the body never ends).
GUARD = 10.0

# kind -> path under the server the adapter's base URL is
KINDS = {"openai": "/v1", "anthropic": "", "gemini": "", "ollama": ""}

Call = Callable[[ChatProvider], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "list_models": lambda p: p.list_models(),
    "test_connection": lambda p: p.test_connection(),
    "chat": lambda p: p.chat(
        ChatRequest(model="m", messages=[ChatMessage(role="user", content="hi")])
    ),
}


@pytest.fixture
async def factory() -> AsyncIterator[DefaultProviderFactory]:
    made = DefaultProviderFactory(OutboundClients(), timeout=DEADLINE, connect_timeout=DEADLINE)
    yield made
    await made.aclose()


def _provider(factory: DefaultProviderFactory, kind: str, trickle: Trickle) -> ChatProvider:
    return factory.provider(
        ProviderEndpoint(
            kind=kind,
            provider=kind,
            base_url=trickle.url + KINDS[kind],
            api_key="sk-test-0000000000000000",
            trusted=True,  # the trickling server is on loopback
        )
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_trickling_answer_ends_at_the_deadline(
    factory: DefaultProviderFactory,
    trickle: Trickle,
    kind: str,
    call: str,
) -> None:
    provider = _provider(factory, kind, trickle)
    started = time.monotonic()

    with pytest.raises(Timeout):
        async with asyncio.timeout(GUARD):
            await CALLS[call](provider)

    assert trickle.requests == 1  # the server was reached and answered, slowly
    assert time.monotonic() - started < GUARD / 2


async def test_an_openai_stream_kept_alive_by_trickling_ends_at_its_cap(
    trickle: Trickle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "STREAM_DEADLINE_SECONDS", DEADLINE)
    factory = DefaultProviderFactory(OutboundClients(), timeout=GUARD, connect_timeout=GUARD)
    try:
        provider = _provider(factory, "openai", trickle)
        request = ChatRequest(model="m", messages=[ChatMessage(role="user", content="hi")])

        with pytest.raises(Timeout):
            async with asyncio.timeout(GUARD):
                async for _event in provider.stream_chat(request):
                    pass
    finally:
        await factory.aclose()

    assert trickle.requests == 1
