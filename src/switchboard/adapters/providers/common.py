"""What the adapters that call vendors (chat providers, workflow engines) do the same way.

Each adapter still owns its vendor's wire shapes and status errors; only the logic that
must not drift between vendors lives here: which base URLs are acceptable, how a tool
call's arguments are parsed, how transport failures and a missing key read, and the
overall deadline of a call.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from switchboard.adapters.http import (
    TIMEOUT_ERRORS,
    TRANSPORT_ERRORS,
    BlockedUrl,
    OutboundClients,
    blocked_error,
)
from switchboard.adapters.http.policy import ResolveError
from switchboard.core.errors import (
    Invalid,
    SwitchboardError,
    Timeout,
    UpstreamRejected,
    UpstreamUnavailable,
)
from switchboard.core.llm import ChatRequest, ImagePart, ToolCall
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.kit.netpolicy import check_image_input, check_url_syntax

# Resolving an image URL's host before the provider is asked to fetch it.
IMAGE_RESOLVE_TIMEOUT = 5.0
# The longest a streamed reply may last, end to end. Streams are bounded between chunks
# by the read timeout; this caps one whose server keeps it alive by trickling bytes.
STREAM_DEADLINE_SECONDS = 3600.0


def base_url(endpoint: ProviderEndpoint, default: str) -> str:
    """The endpoint's base URL (or `default`), refused unless it is plain http(s)."""
    url = (endpoint.base_url or default).rstrip("/")
    try:
        check_url_syntax(url)
    except BlockedUrl as exc:
        raise blocked_error(exc) from None
    return url


def missing_key(what: str) -> UpstreamRejected:
    """The error for a call without a key: the same failure as a rejected one."""
    return UpstreamRejected(
        f"No {what} API key is configured.", code="upstream_auth", upstream_status=401
    )


def tool_arguments(call: ToolCall) -> dict[str, Any]:
    """A tool call's JSON arguments as an object (empty arguments are `{}`)."""
    if not call.arguments.strip():
        return {}
    try:
        value = json.loads(call.arguments)
    except ValueError as exc:
        raise Invalid(f"Tool call {call.name!r} has arguments that are not JSON.") from exc
    if not isinstance(value, dict):
        raise Invalid(f"Tool call {call.name!r} arguments must be a JSON object.")
    return value


def transport_error(
    exc: BaseException,
    what: str,
    *,
    timeouts: tuple[type[BaseException], ...] = (),
    unreachable: tuple[type[BaseException], ...] = (),
) -> SwitchboardError:
    """The core error for a vendor failure that is not an HTTP error answer.

    `timeouts` and `unreachable` add the SDK's own exception types to the shared HTTP
    ones; anything else the adapter let through is a malformed response.
    """
    if isinstance(exc, (*timeouts, *TIMEOUT_ERRORS)):
        return Timeout(f"{what} did not answer in time")
    if isinstance(exc, (*unreachable, *TRANSPORT_ERRORS)):
        return UpstreamUnavailable(f"{what} could not be reached or dropped the connection")
    return UpstreamUnavailable(f"{what} sent a malformed response", code="upstream_malformed")


@asynccontextmanager
async def deadline(seconds: float, what: str) -> AsyncIterator[None]:
    """Bound a whole call: the SDKs' timeouts are per read, which a server trickling one
    byte at a time never trips. Expiry cancels the call and raises `Timeout`."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise Timeout(f"{what} did not answer in time") from None


class Deadlined(Protocol):
    """An adapter whose calls `bounded` limits: its deadline and its name in errors."""

    @property
    def deadline_seconds(self) -> float:
        """The longest one whole call (not a stream) may take."""
        ...

    @property
    def vendor(self) -> str:
        """How errors name the upstream ("Anthropic")."""
        ...


_S = TypeVar("_S", bound=Deadlined)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def bounded(
    method: Callable[Concatenate[_S, _P], Awaitable[_R]],
) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]:
    """Run an adapter method under its overall deadline (see `deadline`)."""

    @functools.wraps(method)
    async def call(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with deadline(self.deadline_seconds, self.vendor):
            return await method(self, *args, **kwargs)

    return call


def image_urls(request: ChatRequest) -> list[str]:
    """The image inputs of a request (cheap when there are none: the common case)."""
    return [
        part.url
        for message in request.messages
        if not isinstance(message.content, str)
        for part in message.content
        if isinstance(part, ImagePart)
    ]


async def check_image_inputs(clients: OutboundClients, request: ChatRequest) -> None:
    """Refuse image inputs the outbound policy refuses, before the provider fetches them.

    The provider dials an image URL from wherever it runs (a LAN server for a local
    upstream), so the URL is judged as a user's URL: untrusted, exemptions honoured,
    every address of its host checked. Inline images must be raster data: URLs.
    """
    for url in image_urls(request):
        try:
            origin = check_image_input(url)
            if origin is not None:
                await clients.policy.addresses(
                    origin.host, origin.port, trusted=False, timeout=IMAGE_RESOLVE_TIMEOUT
                )
        except (BlockedUrl, ResolveError) as exc:
            raise Invalid(
                f"image_url refused: {exc}", code="invalid_image_url", param="messages"
            ) from None
