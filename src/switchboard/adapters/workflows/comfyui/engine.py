"""A ComfyUI server behind the `WorkflowEngine` port.

A prompt is submitted with a client id of its own, so ComfyUI sends that prompt's events
to one WebSocket only. `follow` reads them there; when the WebSocket cannot be opened or
drops, it falls back to polling the queue and `/history` until the prompt ends. Outputs
are read from `/history` and images fetched from `/view`, bounded in size and checked to
be images. Every request, the WebSocket included, goes through the outbound policy.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import aiohttp

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers import common
from switchboard.adapters.storage.fetch import DEFAULT_MAX_BYTES
from switchboard.core.errors import Timeout, UpstreamRejected, UpstreamUnavailable
from switchboard.core.media.sniff import sniff_image
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.core.workflows.errors import (
    WorkflowFailed,
    WorkflowInterrupted,
    WorkflowNotFinished,
)
from switchboard.core.workflows.ports import (
    TERMINAL_EVENTS,
    Executed,
    FetchedImage,
    Interrupted,
    ObjectInfo,
    OutputImage,
    Queued,
    Started,
    SubmittedPrompt,
    Workflow,
    WorkflowEvent,
    WorkflowOutput,
)

from . import wire
from .channel import CHANNEL_ERRORS, ChannelLost, open_channel
from .http import ComfyHttp

DEFAULT_BASE_URL = "http://127.0.0.1:8188"
# The longest one prompt may be followed, end to end (a large batch on a slow GPU).
DEFAULT_RUN_TIMEOUT = 3600.0
# How often the fallback asks whether the prompt has ended.
DEFAULT_POLL_INTERVAL = 1.0

_T = TypeVar("_T")
Pause = Callable[[float], Awaitable[None]]


class _RunClock:
    """The deadline of following one prompt, applied to each wait (never across a yield:
    the consumer's own time between events is not ours to cancel)."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._at = asyncio.get_running_loop().time() + seconds

    async def bound(self, awaitable: Awaitable[_T]) -> _T:
        """`await awaitable`, or `Timeout` once the prompt's deadline has passed."""
        scope = asyncio.timeout_at(self._at)
        try:
            async with scope:
                return await awaitable
        except TimeoutError:
            if not scope.expired():
                raise
            raise Timeout(
                f"{wire.ENGINE} did not finish the prompt within {self._seconds:g} seconds"
            ) from None


class ComfyUIEngine:
    """One ComfyUI server; every failure leaves as a core error kind."""

    def __init__(
        self,
        endpoint: ProviderEndpoint,
        clients: OutboundClients,
        timeout: float,
        connect_timeout: float,
        *,
        run_timeout: float = DEFAULT_RUN_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_image_bytes: int = DEFAULT_MAX_BYTES,
        pause: Pause = asyncio.sleep,
    ) -> None:
        headers = {"content-type": "application/json", "user-agent": "switchboard"}
        if endpoint.api_key:  # ComfyUI behind an authenticating proxy
            headers["authorization"] = f"Bearer {endpoint.api_key}"
        self._endpoint = endpoint
        self._clients = clients
        self._http = ComfyHttp(
            clients,
            common.base_url(endpoint, DEFAULT_BASE_URL),
            trusted=endpoint.trusted,
            headers=headers,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self._connect_timeout = connect_timeout
        self._run_timeout = run_timeout
        self._poll_interval = poll_interval
        self._max_image_bytes = max_image_bytes
        self._pause = pause
        self.deadline_seconds = timeout
        self.vendor = wire.ENGINE

    def __repr__(self) -> str:
        return f"ComfyUIEngine({self._endpoint!r})"

    @common.bounded
    async def object_info(self) -> ObjectInfo:
        """Samplers, schedulers, checkpoints and LoRAs, from the few node classes that
        list them (`/object_info/<class>`: the whole `/object_info` runs to megabytes)."""
        merged: dict[str, Any] = {}
        for node in wire.INFO_NODES:
            answer = await self._http.get(f"/object_info/{node}")
            merged |= answer if isinstance(answer, dict) else {}
        return wire.object_info(merged)

    @common.bounded
    async def submit(self, workflow: Workflow) -> SubmittedPrompt:
        """Queue `workflow` (`POST /prompt`); `WorkflowRejected` naming the bad nodes.

        ComfyUI queues a prompt whose other outputs are valid even when some output
        nodes are not (200 with `node_errors`): those are dropped, the rest runs.
        """
        client_id = uuid.uuid4().hex
        status, body = await self._http.post(
            "/prompt", {"prompt": dict(workflow), "client_id": client_id}, refusals=(400,)
        )
        if status == 400:
            raise wire.rejection(body)
        prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
        if not isinstance(prompt_id, str) or not prompt_id:
            raise UpstreamUnavailable(
                f"{wire.ENGINE} queued the prompt without an id", code="upstream_malformed"
            )
        number = body.get("number")
        return SubmittedPrompt(
            prompt_id, client_id, float(number) if isinstance(number, int | float) else 0
        )

    async def follow(self, prompt: SubmittedPrompt) -> AsyncIterator[WorkflowEvent]:
        """The prompt's events, over the WebSocket while it lasts, then by polling."""
        clock = _RunClock(self._run_timeout)
        seen: list[WorkflowEvent] = []
        try:
            async with aclosing(self._over_socket(prompt, clock)) as events:
                async for event in events:
                    seen.append(event)
                    yield event
                    if isinstance(event, TERMINAL_EVENTS):
                        return
        except ChannelLost:
            pass
        executed = {event.node_id for event in seen if isinstance(event, Executed)}
        async with aclosing(self._by_polling(prompt.prompt_id, clock, announce=not seen)) as events:
            async for event in events:
                # Outputs the WebSocket already announced are not announced twice.
                if not (isinstance(event, Executed) and event.node_id in executed):
                    yield event

    async def _over_socket(
        self, prompt: SubmittedPrompt, clock: _RunClock
    ) -> AsyncGenerator[WorkflowEvent]:
        """Events from the WebSocket until a terminal one; `ChannelLost` if it drops."""
        channel = open_channel(
            self._clients,
            self._http.base_url,
            prompt.client_id,
            trusted=self._http.trusted,
            connect_timeout=self._connect_timeout,
            headers=self._http.socket_headers,
        )
        first, started = True, False
        async with channel as socket:
            while True:
                message = await self._receive(socket, clock)
                if message is None or (started and wire.is_status(message)):
                    continue
                if wire.is_status(message):
                    ended = await clock.bound(self._queue_changed(prompt.prompt_id, first))
                    first = False
                    if ended is None:
                        yield wire.queued(prompt.prompt_id, message)
                    for event in ended or ():
                        yield event
                    if ended:
                        return
                    continue
                mapped = wire.event(message, prompt.prompt_id)
                if mapped is not None:
                    started = started or isinstance(mapped, Started)
                    yield mapped

    async def _queue_changed(self, prompt_id: str, first: bool) -> list[WorkflowEvent] | None:
        """On a `status` message before the prompt started: its end, if it ended where
        no event will say so; [] when the events will; None while it waits.

        The first status comes as the socket opens: a prompt that ended before that is
        read from `/history`. Later, the events tell how it ends, except a delete from
        the queue, which only the queue and the history show.
        """
        ended = await self._settle(prompt_id)
        if ended is None or first or isinstance(ended[-1], Interrupted):
            return ended
        return []

    async def _receive(self, socket: aiohttp.ClientWebSocketResponse, clock: _RunClock) -> Any:
        """The next JSON message (None for previews and junk); `ChannelLost` on close."""
        try:
            message = await clock.bound(socket.receive())
        except CHANNEL_ERRORS as exc:
            raise ChannelLost(str(exc)) from None
        if message.type is aiohttp.WSMsgType.BINARY:
            return None  # a preview image
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise ChannelLost(f"the WebSocket ended ({message.type.name})")
        try:
            return json.loads(message.data)
        except ValueError:
            return None

    async def _by_polling(
        self, prompt_id: str, clock: _RunClock, *, announce: bool
    ) -> AsyncGenerator[WorkflowEvent]:
        """The prompt's end, asking the queue and `/history` every `poll_interval`;
        with `announce`, a `Queued` first while it waits or runs."""
        while True:
            ended = await clock.bound(self._settle(prompt_id))
            if ended is not None:
                for event in ended:
                    yield event
                return
            if announce:
                announce = False
                yield Queued(prompt_id)
            await clock.bound(self._pause(self._poll_interval))

    async def _settle(self, prompt_id: str) -> list[WorkflowEvent] | None:
        """How the prompt ended, or None while it is queued or running.

        ComfyUI moves a finished prompt from the queue to the history in one step, so a
        prompt in neither was deleted from the queue.
        """
        running, pending = wire.queue_ids(await self._http.get("/queue"))
        if prompt_id in running or prompt_id in pending:
            return None
        entry = await self._history(prompt_id)
        if entry is None:
            return [Interrupted(prompt_id)]
        return wire.history_events(entry, prompt_id)

    async def _history(self, prompt_id: str) -> dict[str, Any] | None:
        return wire.history_entry(await self._http.get(f"/history/{prompt_id}"), prompt_id)

    @common.bounded
    async def outputs(self, prompt_id: str) -> WorkflowOutput:
        """The images of a finished prompt (`/history`); the failure of one that failed."""
        entry = await self._history(prompt_id)
        if entry is None:
            raise WorkflowNotFinished(f"{wire.ENGINE} has not finished prompt {prompt_id}")
        end = wire.ending(entry, prompt_id)
        if isinstance(end, Interrupted):
            raise WorkflowInterrupted(f"{wire.ENGINE} prompt {prompt_id} was interrupted")
        if end is not None:
            raise WorkflowFailed(wire.ENGINE, end)
        return wire.outputs(entry, prompt_id)

    async def fetch_image(self, image: OutputImage) -> FetchedImage:
        """One output image from `/view`, at most `max_image_bytes`, and an image."""
        query = {"filename": image.filename, "subfolder": image.subfolder, "type": image.type}
        data = await self._http.fetch("/view", query, self._max_image_bytes)
        media_type = sniff_image(data)
        if media_type is None:
            raise UpstreamRejected(
                f"{wire.ENGINE} output {image.filename!r} is not a PNG, JPEG, WebP or GIF image",
                code="unsupported_media_type",
            )
        return FetchedImage(image, data, media_type)

    @common.bounded
    async def interrupt(self, prompt_id: str) -> None:
        """Delete the prompt from the queue if pending; interrupt it if running.

        The queue is read again after a delete: the prompt may have started meanwhile.
        The interrupt names the prompt, so a server that knows it spares any other.
        """
        running, pending = wire.queue_ids(await self._http.get("/queue"))
        if prompt_id in pending:
            await self._http.post("/queue", {"delete": [prompt_id]})
            running, _ = wire.queue_ids(await self._http.get("/queue"))
        if prompt_id in running:
            await self._http.post("/interrupt", {"prompt_id": prompt_id})

    @common.bounded
    async def test_connection(self) -> None:
        """`GET /system_stats`: cheap, and it proves the server answers."""
        await self._http.get("/system_stats")
