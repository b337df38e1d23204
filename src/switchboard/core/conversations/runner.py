"""Producing an assistant reply, blocking or streamed, without losing what was said.

The runner owns its units of work, as a job does: the user's message and an assistant
message in status `streaming` are committed before its responder (one provider call, or
an agent loop with tools: `core.turns`) starts; the reply is finished in a second unit
of work as `complete`, or — on stop, client disconnect, upstream failure or shutdown —
as `partial` or `error` with the text received so far and a reason. That final write
is shielded from cancellation, so it is never lost.

Meanwhile the text so far is flushed to the row under this replica's lease
(`leases.ReplyLeases`), so that a replica killed mid-reply leaves the text its clients
saw; the sweep finishes such rows as `partial` with reason `server_restart`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from switchboard.core.catalog.models import ModelResolver
from switchboard.core.catalog.pricing import cost_usd
from switchboard.core.conversations.active import ActiveReplies
from switchboard.core.conversations.errors import SERVER_SHUTDOWN, ShuttingDown
from switchboard.core.conversations.lease_repository import StreamingRows
from switchboard.core.conversations.leases import LiveReply, ReplyLeases
from switchboard.core.conversations.schemas import MessageRead, MessageStatus
from switchboard.core.conversations.service import ConversationService
from switchboard.core.errors import SwitchboardError, UpstreamUnavailable
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import SYSTEM_TOPIC, Event
from switchboard.core.llm import ChatMessage, ChatRequest, ModelRef, TextDelta, ThinkingDelta, Usage
from switchboard.core.providers.ports import ChatProvider
from switchboard.core.providers.service import ProviderService, ProviderSetup
from switchboard.core.turns.events import ToolFinished, ToolStarted, TurnEvent, UsageReport
from switchboard.core.turns.parts import PartsBuilder, replay
from switchboard.core.turns.ports import Responder, Turn
from switchboard.core.turns.publisher import TurnPublisher
from switchboard.core.turns.single import SingleCall
from switchboard.core.usage.recorder import UsageEntry, UsageRecorder
from switchboard.kit.aiter import closing
from switchboard.kit.clock import utcnow
from switchboard.kit.db import UnitOfWork

UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]

HISTORY_LIMIT = 100
STOP_EVENT = "reply.stop"
STREAM_BUFFER = 256
SINGLE_CALL = SingleCall()


@dataclass(frozen=True, slots=True)
class ReplyOptions:
    """Per-call choices; unset ones fall back to the conversation's settings."""

    source: str
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    api_key_id: str | None = None
    extra_system_prompt: str | None = None
    # What produces the reply: one provider call unless a face asks for an agent loop
    # (or, later, a desktop bridge's relay).
    responder: Responder | None = None
    # Ask the model to show its reasoning ("low" | "medium" | "high"), where it can.
    reasoning: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyStarted:
    """The user's message is stored and the assistant's reply has begun."""

    user_message: MessageRead
    assistant_message: MessageRead


@dataclass(frozen=True, slots=True)
class ReplyFinished:
    """The reply is stored in its final state; `error` is set when it did not complete."""

    message: MessageRead
    error: SwitchboardError | None = None


ReplyEvent = ReplyStarted | TextDelta | ThinkingDelta | ToolStarted | ToolFinished | ReplyFinished


@dataclass
class _Prepared:
    owner_id: str
    conversation_id: str
    ref: ModelRef
    provider: ChatProvider
    request: ChatRequest
    user_message: MessageRead
    assistant_message: MessageRead
    options: ReplyOptions
    responder: Responder
    publisher: TurnPublisher
    streaming: bool
    parts: PartsBuilder = field(default_factory=PartsBuilder)
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None


@dataclass
class _Outcome:
    text: str = ""
    status: MessageStatus = MessageStatus.PARTIAL
    reason: str | None = "interrupted"
    usage: Usage | None = None
    error: SwitchboardError | None = None

    def add_usage(self, usage: Usage) -> None:
        """Count one model call's tokens (an agent loop makes several)."""
        if self.usage is None:
            self.usage = usage
            return
        self.usage = Usage(
            self.usage.prompt_tokens + usage.prompt_tokens,
            self.usage.completion_tokens + usage.completion_tokens,
        )


class _End:
    """Marks the end of the upstream pump's queue."""


class ReplyRunner:
    """Sends a user's message to the conversation's model and stores the reply."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        providers: ProviderSetup,
        recorder: UsageRecorder,
        resolver: ModelResolver,
        active: ActiveReplies,
        bus: EventBus,
        *,
        default_model: str,
        leases: ReplyLeases | None = None,
    ) -> None:
        self._units = units
        # Flushes, heartbeat and sweep; the process runs `leases.run()` (app lifespan).
        self.leases = leases or ReplyLeases(StreamingRows(units))
        self._closing = False
        self._providers = providers
        self._recorder = recorder
        self._resolver = resolver
        self._active = active
        self._bus = bus
        self._default_model = default_model
        self._finishing: set[asyncio.Task[Any]] = set()

    async def send(
        self, owner_id: str, conversation_id: str, content: str, options: ReplyOptions
    ) -> tuple[MessageRead, MessageRead]:
        """Store the message, get the whole reply, store it; returns (user, assistant).

        On failure the reply is stored with status `error` (or `partial`, when an agent
        loop had said something) and the error is raised.
        """
        finished: ReplyFinished | None = None
        started: ReplyStarted | None = None
        async with closing(self._run(owner_id, conversation_id, content, options, False)) as run:
            async for item in run:
                if isinstance(item, ReplyStarted):
                    started = item
                elif isinstance(item, ReplyFinished):
                    finished = item
        assert started is not None and finished is not None
        if finished.error is not None:
            raise finished.error
        return started.user_message, finished.message

    def stream(
        self, owner_id: str, conversation_id: str, content: str, options: ReplyOptions
    ) -> AsyncIterator[ReplyEvent]:
        """Store the message, then yield the reply's events as they come, then its final
        row. Nothing is stored until the first event is asked for."""
        return self._run(owner_id, conversation_id, content, options, True)

    async def _run(
        self,
        owner_id: str,
        conversation_id: str,
        content: str,
        options: ReplyOptions,
        streaming: bool,
    ) -> AsyncIterator[ReplyEvent]:
        prepared = await self._prepare(owner_id, conversation_id, content, options, streaming)
        outcome = _Outcome()
        live = self.leases.track(prepared.assistant_message.id)
        text = live.pending
        try:
            # Inside the try: a consumer leaving right after the start must not leave the
            # reply `streaming` forever.
            await prepared.publisher.started(_started_data(prepared))
            yield ReplyStarted(prepared.user_message, prepared.assistant_message)
            # closing: when the consumer leaves mid-stream, the pump (and with it the
            # responder's work) is closed now, not whenever the generator is collected.
            async with closing(self._pump(prepared)) as events:
                async for item in events:
                    if isinstance(item, UsageReport):
                        outcome.add_usage(item.usage)
                    else:
                        await self._record(prepared, live, item)
                        yield item
            outcome.status, outcome.reason = MessageStatus.COMPLETE, None
        except asyncio.CancelledError:
            self._interrupted(conversation_id, outcome)
            if not self._active.was_stopped(conversation_id) or _being_cancelled():
                outcome.text = text.text
                await self._finish_shielded(prepared, outcome, live)
                raise
        except SwitchboardError as exc:
            outcome.status = MessageStatus.PARTIAL if text.text else MessageStatus.ERROR
            outcome.reason, outcome.error = exc.message, exc
        except GeneratorExit:
            outcome.text = text.text
            outcome.reason = "client_disconnected"
            await self._finish_shielded(prepared, outcome, live)
            raise
        outcome.text = text.text
        final = await self._finish_shielded(prepared, outcome, live)
        yield ReplyFinished(final, outcome.error)

    async def _record(self, prepared: _Prepared, live: LiveReply, item: TurnEvent) -> None:
        """Keep one event of the reply: its text flushed under the lease, its part, and
        its copy for the reply's watchers on the bus."""
        if isinstance(item, TextDelta):
            if prepared.streaming and prepared.first_token_at is None:
                prepared.first_token_at = time.perf_counter()
            self.leases.add(live, item.text)
        prepared.parts.add(item)
        await prepared.publisher.add(item)

    async def stop(self, owner_id: str, conversation_id: str) -> bool:
        """Stop the owner's reply in flight, on whichever replica produces it.

        Returns whether a reply was in flight: here, or elsewhere according to its stored
        `streaming` row (that replica receives the stop over the bus). Another user's
        conversation is not found.
        """
        if self._active.stop(owner_id, conversation_id):
            return True
        async with self._units() as uow:
            conversations = ConversationService(uow.session)
            await conversations.require(owner_id, conversation_id)
            in_flight = await conversations.has_streaming_reply(owner_id, conversation_id)
        if in_flight:
            data = {"owner_id": owner_id, "conversation_id": conversation_id}
            await self._bus.publish(Event(topic=SYSTEM_TOPIC, type=STOP_EVENT, data=data))
        return in_flight

    async def listen_for_stops(self) -> None:
        """Apply stops published by other replicas; runs for the life of the process."""
        subscription = await self._bus.subscribe([SYSTEM_TOPIC])
        try:
            async for event in subscription:
                if event.type == STOP_EVENT:
                    self._active.stop(
                        str(event.data.get("owner_id", "")),
                        str(event.data.get("conversation_id", "")),
                    )
        finally:
            await subscription.close()

    def interrupt_all(self) -> int:
        """Server shutdown: end every reply in flight here now, each stored `partial`
        with reason `server_shutdown` and its text so far, its stream ending with a
        `ShuttingDown` error; replies asked for from now on are refused the same way.
        Returns how many replies were interrupted."""
        self._closing = True
        return self._active.interrupt_all(SERVER_SHUTDOWN)

    async def drain(self) -> None:
        """Wait for final writes still running (server shutdown)."""
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)

    # -- steps ---------------------------------------------------------------------------
    async def _prepare(
        self,
        owner_id: str,
        conversation_id: str,
        content: str,
        options: ReplyOptions,
        streaming: bool,
    ) -> _Prepared:
        if self._closing:
            raise ShuttingDown()
        async with self._units() as uow:
            conversations = ConversationService(uow.session)
            conversation = await conversations.require(owner_id, conversation_id)
            ref = self._model_ref(options.model, conversation.provider, conversation.model)
            provider = await ProviderService(uow.session, self._providers).provider_for(
                owner_id, ref.provider, connection_id=conversation.connection_id
            )
            history = await conversations.history(owner_id, conversation.id, HISTORY_LIMIT)
            user_message = await conversations.append(
                owner_id, conversation.id, role="user", content=content
            )
            assistant = await conversations.append(
                owner_id,
                conversation.id,
                role="assistant",
                content="",
                status=MessageStatus.STREAMING,
                provider=ref.provider,
                model=ref.model,
                lease=(self.leases.replica, self.leases.lease_until()),
            )
            settings = conversation.settings or {}
            system = "\n\n".join(
                p for p in (conversation.system_prompt, options.extra_system_prompt) if p
            )
        request = ChatRequest(
            model=ref.model,
            messages=_context(system, history, content),
            temperature=_first(options.temperature, settings.get("temperature")),
            max_tokens=_first(options.max_tokens, settings.get("max_tokens")),
            reasoning=options.reasoning,
        )
        return _Prepared(
            owner_id,
            conversation.id,
            ref,
            provider,
            request,
            user_message,
            assistant,
            options,
            responder=options.responder or SINGLE_CALL,
            publisher=TurnPublisher(self._bus, conversation.id, assistant.id),
            streaming=streaming,
        )

    async def _pump(self, prepared: _Prepared) -> AsyncGenerator[TurnEvent, None]:
        """Run the responder in its own task, so that a stop can cancel it at any point."""
        queue: asyncio.Queue[TurnEvent | SwitchboardError | _End] = asyncio.Queue(STREAM_BUFFER)
        turn = Turn(prepared.provider, prepared.request, stream=prepared.streaming)

        async def pump() -> None:
            try:
                async with closing(prepared.responder.respond(turn)) as events:
                    async for event in events:
                        await queue.put(event)
                await queue.put(_End())
            except SwitchboardError as exc:
                await queue.put(exc)

        task = asyncio.create_task(pump())
        self._register(prepared.conversation_id, prepared.owner_id, task)
        try:
            while True:
                get = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({get, task}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    if queue.empty():
                        _raise_pump_end(task)
                        continue
                    item = queue.get_nowait()
                else:
                    item = get.result()
                if isinstance(item, _End):
                    return
                if isinstance(item, SwitchboardError):
                    raise item
                yield item
        finally:
            self._active.unregister(prepared.conversation_id, task)  # type: ignore[arg-type]
            if not task.done():
                task.cancel()

    def _register(self, conversation_id: str, owner_id: str, task: asyncio.Task[Any]) -> None:
        self._active.register(conversation_id, owner_id, task)
        if self._closing:  # started while the shutdown was interrupting the others
            self._active.interrupt_all(SERVER_SHUTDOWN)

    def _interrupted(self, conversation_id: str, outcome: _Outcome) -> None:
        outcome.reason = self._active.reason(conversation_id) or "interrupted"
        if outcome.reason == SERVER_SHUTDOWN:
            outcome.error = ShuttingDown()

    async def _finish_shielded(
        self, prepared: _Prepared, outcome: _Outcome, live: LiveReply
    ) -> MessageRead:
        task = asyncio.create_task(self._finish(prepared, outcome, live))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return await asyncio.shield(task)

    async def _finish(self, prepared: _Prepared, outcome: _Outcome, live: LiveReply) -> MessageRead:
        await self.leases.release(live)  # its last flush lands before the final write
        now = time.perf_counter()
        cost = cost_usd(prepared.ref.provider, prepared.ref.model, outcome.usage)
        async with self._units() as uow:
            conversations = ConversationService(uow.session)
            row = await conversations.message_row(prepared.owner_id, prepared.assistant_message.id)
            assert row is not None
            row.content = outcome.text
            row.status = outcome.status.value
            row.status_reason = outcome.reason
            row.latency_ms = round((now - prepared.started) * 1000, 2)
            if prepared.first_token_at is not None:
                row.first_token_ms = round((prepared.first_token_at - prepared.started) * 1000, 2)
            if outcome.usage is not None:
                row.prompt_tokens = outcome.usage.prompt_tokens
                row.completion_tokens = outcome.usage.completion_tokens
                row.cost_usd = cost
            row.parts = prepared.parts.stored()
            row.completed_at = utcnow()
            row.lease_owner, row.lease_expires_at = None, None
            final = MessageRead.model_validate(row)
        await prepared.publisher.finished(outcome.status.value, outcome.reason, outcome.usage)
        if outcome.usage is not None:
            self._recorder.record(
                UsageEntry(
                    user_id=prepared.owner_id,
                    source=prepared.options.source,
                    provider=prepared.ref.provider,
                    model=prepared.ref.model,
                    prompt_tokens=outcome.usage.prompt_tokens,
                    completion_tokens=outcome.usage.completion_tokens,
                    cost_usd=cost,
                    api_key_id=prepared.options.api_key_id,
                )
            )
        return final

    def _model_ref(self, override: str | None, provider: str | None, model: str | None) -> ModelRef:
        if override:
            return self._resolver.resolve(override)
        if provider and model:
            return self._resolver.resolve(f"{provider}/{model}")
        if model:
            return self._resolver.resolve(model)
        return self._resolver.resolve(self._default_model)


def _context(system: str, history: list[Any], content: str) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    if system:
        messages.append(ChatMessage(role="system", content=system))
    for row in history:
        if row.role == "assistant" and row.parts:
            messages.extend(replay(row.parts))  # its tool calls and results too
        elif row.role in ("user", "assistant") and row.content:
            messages.append(ChatMessage(role=row.role, content=row.content))
    messages.append(ChatMessage(role="user", content=content))
    return messages


def _started_data(prepared: _Prepared) -> dict[str, Any]:
    return {
        "user_message_id": prepared.user_message.id,
        "provider": prepared.ref.provider,
        "model": prepared.ref.model,
        "source": prepared.options.source,
    }


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _raise_pump_end(task: asyncio.Task[None]) -> None:
    """The pump ended without an end marker: it was stopped, or it crashed."""
    if task.cancelled():
        raise asyncio.CancelledError
    exc = task.exception()
    if exc is not None:
        raise UpstreamUnavailable("The provider's stream failed unexpectedly") from exc
    raise UpstreamUnavailable("The provider's stream ended unexpectedly")
