"""Anthropic's Messages API behind the `ChatProvider` port, on the official SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import httpx2

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers import common
from switchboard.core.errors import UpstreamUnavailable
from switchboard.core.llm import (
    ChatRequest,
    ChatResult,
    ModelInfo,
    StreamEvent,
)
from switchboard.core.providers.ports import ProviderEndpoint

from . import errors
from .stream import StreamState
from .translate import chat_result, create_params

DEFAULT_BASE_URL = "https://api.anthropic.com"


class AnthropicProvider:
    """One Anthropic endpoint and key; every vendor failure leaves as a core error."""

    def __init__(
        self,
        endpoint: ProviderEndpoint,
        clients: OutboundClients,
        timeout: float,
        connect_timeout: float,
    ) -> None:
        self._endpoint = endpoint
        base_url = common.base_url(endpoint, DEFAULT_BASE_URL)
        self.deadline_seconds = timeout
        self.vendor = "Anthropic"
        self._clients = clients
        self._timeout = httpx2.Timeout(timeout, connect=connect_timeout)
        self._client: anthropic.AsyncAnthropic | None = None
        if endpoint.api_key:
            # max_retries=0: retries are the core's decision, not the SDK's.
            self._client = anthropic.AsyncAnthropic(
                api_key=endpoint.api_key,
                base_url=base_url,
                http_client=clients.httpx2_client(trusted=endpoint.trusted, timeout=self._timeout),
                max_retries=0,
                timeout=self._timeout,
            )

    def __repr__(self) -> str:
        return f"AnthropicProvider({self._endpoint!r})"

    @property
    def client(self) -> anthropic.AsyncAnthropic:
        """The SDK client; a missing key is the same failure as a rejected one."""
        if self._client is None:
            raise common.missing_key("Anthropic")
        return self._client

    @common.bounded
    async def list_models(self) -> list[ModelInfo]:
        """Every model the key can use (the SDK follows the pages)."""
        try:
            return [
                ModelInfo(
                    id=model.id,
                    provider=self._endpoint.provider,
                    name=model.display_name,
                    context_window=model.max_input_tokens,
                    max_output_tokens=model.max_tokens,
                    capabilities=("chat", "vision", "tools"),
                )
                async for model in self.client.models.list(limit=100)
            ]
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None

    @common.bounded
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One whole completion."""
        await common.check_image_inputs(self._clients, request)
        params = create_params(request)
        try:
            message = await self.client.messages.create(**params, stream=False)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        return chat_result(message)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Deltas in order, then one `StreamEnd`; closing early closes the response."""
        await common.check_image_inputs(self._clients, request)
        params = create_params(request)
        state = StreamState()
        try:
            # Opening is bounded like a whole call; the events then have the read timeout.
            async with common.deadline(self.deadline_seconds, self.vendor):
                stream = await self.client.messages.create(**params, stream=True)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        try:
            async for event in stream:
                for out in state.events(event):
                    yield out
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        finally:
            await stream.close()
        if not state.stopped:
            raise UpstreamUnavailable("Anthropic ended the stream before message_stop.")
        yield state.end()

    @common.bounded
    async def test_connection(self) -> None:
        """Fetch one page of models: cheap, and it needs a valid key."""
        try:
            await self.client.models.list(limit=1)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
