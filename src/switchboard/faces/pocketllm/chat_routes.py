"""`/v1/chats*`: chats with their model configuration, and their messages (blocking or SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from sse_starlette import ServerSentEvent

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.core.container import Services
from switchboard.api.errors import info_from_exception
from switchboard.api.realtime.sse import event_stream_response
from switchboard.core.conversations.runner import ReplyFinished, ReplyOptions, ReplyStarted
from switchboard.core.conversations.schemas import (
    ConversationCreate,
    ConversationRead,
    ConversationUpdate,
    MessageStatus,
)
from switchboard.core.errors import Invalid
from switchboard.core.events.schemas import Event
from switchboard.core.llm import TextDelta
from switchboard.core.providers.known import known_provider
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.deps import SOURCE, admit
from switchboard.faces.pocketllm.envelope import ok
from switchboard.faces.pocketllm.errors import message_of, status_of

CHAT_KEY_LABEL = "chat:{}"
KEY_PREVIEW = "api_key_preview"
KEY_PROVIDER = "api_key_provider"


def register(router: APIRouter) -> None:
    """Add the chat routes."""
    _register_messages(router)

    @router.get("/chats", response_model=None)
    async def list_chats(
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
        limit: Annotated[int, Query(ge=1, le=100)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """The caller's PocketLLM chats, most recently active first."""
        await admit(request, services, principal, "chat")
        page = await services.conversations.list_conversations(
            principal.user_id, limit=limit, offset=offset, source=SOURCE
        )
        return ok(request, [translate.chat(c, _preview(c)) for c in page.items])

    @router.post("/chats", status_code=201, response_model=None)
    async def create_chat(
        body: schemas.ChatCreate, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Start a chat; an `apiKey` is stored encrypted as the chat's own connection."""
        await admit(request, services, principal, "chat")
        owner = principal.user_id
        config = body.config or schemas.ModelConfig()
        fields: dict[str, Any] = {}
        if body.model_config_id is not None:
            saved = await services.saved_models.get(owner, body.model_config_id)
            fields = {
                "provider": saved.provider,
                "model": saved.model,
                "system_prompt": saved.settings.get("systemPrompt"),
                "settings": _settings(
                    {}, saved.settings.get("temperature"), saved.settings.get("maxTokens")
                ),
            }
        fields |= _config_fields(services, config, current=None)
        chat = await services.conversations.create(
            owner, ConversationCreate(title=body.title, source=SOURCE, **fields)
        )
        chat = await _store_key(services, owner, chat, config)
        if body.initial_message is not None:
            await services.conversations.append(
                owner, chat.id, role="user", content=body.initial_message
            )
            chat = await services.conversations.get(owner, chat.id)
        return ok(request, translate.chat(chat, _preview(chat)), 201)

    @router.get("/chats/{chat_id}", response_model=None)
    async def get_chat(
        chat_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """One chat."""
        await admit(request, services, principal, "chat")
        chat = await services.conversations.get(principal.user_id, chat_id)
        return ok(request, translate.chat(chat, _preview(chat)))

    @router.put("/chats/{chat_id}", response_model=None)
    async def update_chat(
        chat_id: str,
        body: schemas.ChatUpdate,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Response:
        """Change the title or the model configuration (only the fields sent)."""
        await admit(request, services, principal, "chat")
        chat = await _apply(services, principal.user_id, chat_id, body.title, body.config)
        return ok(request, translate.chat(chat, _preview(chat)))

    @router.delete("/chats/{chat_id}", response_model=None)
    async def delete_chat(
        chat_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Delete the chat, its messages and its own key."""
        await admit(request, services, principal, "chat")
        owner = principal.user_id
        chat = await services.conversations.get(owner, chat_id)
        await _drop_key(services, owner, chat)
        await services.conversations.delete(owner, chat.id)
        return ok(request, {"message": "Chat deleted successfully"})


def _register_messages(router: APIRouter) -> None:
    """Add the message routes."""

    @router.post("/chats/{chat_id}/messages", status_code=201, response_model=None)
    async def send_message(
        chat_id: str,
        body: schemas.MessageCreate,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Response:
        """Store the message, ask the chat's model with the history, store and return the reply."""
        await admit(request, services, principal, "chat")
        owner = principal.user_id
        if body.config is not None:
            await _apply(services, owner, chat_id, None, body.config)
        else:
            await services.conversations.get(owner, chat_id)
        # The reply runner owns its units of work: ours must not hold locks meanwhile.
        await services.uow.commit()
        options = ReplyOptions(source=SOURCE, api_key_id=principal.api_key_id)
        replies = services.ctx.replies
        if body.stream:
            events = replies.stream(owner, chat_id, body.content, options)
            first = await anext(events)  # setup errors still get an ordinary error envelope
            assert isinstance(first, ReplyStarted)
            return event_stream_response(
                _reply_events(request, chat_id, first, events),
                format=_sse,
                stop_when=lambda e: e.type in ("done", "error"),
            )
        user_message, reply = await replies.send(owner, chat_id, body.content, options)
        return ok(request, translate.exchange(user_message, reply), 201)

    @router.get("/chats/{chat_id}/messages", response_model=None)
    async def list_messages(
        chat_id: str,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """Messages oldest first."""
        await admit(request, services, principal, "chat")
        page = await services.conversations.messages(
            principal.user_id, chat_id, limit=limit, offset=offset
        )
        shown = [
            translate.message(m)
            for m in page.items
            if not (m.status == MessageStatus.ERROR and not m.content)
        ]
        return ok(request, shown)


async def _reply_events(
    request: Request, chat_id: str, first: ReplyStarted, events: AsyncIterator[Any]
) -> AsyncIterator[Event]:
    """The reply as face events: start, delta..., then done or error."""
    topic = f"session:{chat_id}"
    try:
        yield Event(
            topic,
            "start",
            {
                "userMessage": translate.message(first.user_message),
                "assistantMessage": translate.message(first.assistant_message),
            },
        )
        async for item in events:
            if isinstance(item, TextDelta):
                yield Event(topic, "delta", {"content": item.text})
            elif isinstance(item, ReplyFinished):
                if item.error is None:
                    yield Event(topic, "done", translate.exchange(first.user_message, item.message))
                else:
                    info = info_from_exception(item.error)
                    assert info is not None
                    yield Event(
                        topic,
                        "error",
                        {
                            "message": message_of(info),
                            "status": status_of(info),
                            "assistantMessage": translate.message(item.message),
                        },
                    )
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def _sse(event: Event) -> ServerSentEvent:
    return ServerSentEvent(data=orjson.dumps(event.data).decode(), event=event.type)


def _config_fields(
    services: Services, config: schemas.ModelConfig, current: ConversationRead | None
) -> dict[str, Any]:
    """Conversation fields for the model configuration fields that were sent."""
    sent = config.model_fields_set
    fields: dict[str, Any] = {}
    provider = config.provider
    if provider is not None:
        known = known_provider(provider)
        if known is None:
            raise Invalid(f"Unknown provider '{provider[:64]}'", param="model_config.provider")
        provider = known.name
    if "model" in sent and config.model is not None:
        name = f"{provider}/{config.model}" if provider else config.model
        try:
            ref = services.ctx.resolver.resolve(name)
        except Invalid as exc:
            raise Invalid(exc.message, param="model_config.model") from None
        fields["provider"], fields["model"] = ref.provider, ref.model
    elif provider is not None:
        fields["provider"] = provider
    if "system_prompt" in sent:
        fields["system_prompt"] = config.system_prompt
    if "temperature" in sent or "max_tokens" in sent:
        base = dict(current.settings) if current is not None else {}
        fields["settings"] = _settings(
            base,
            config.temperature if "temperature" in sent else base.get("temperature"),
            config.max_tokens if "max_tokens" in sent else base.get("max_tokens"),
        )
    if config.api_key is not None and not (provider or (current and current.provider)):
        raise Invalid("A provider is needed to store an apiKey", param="model_config.provider")
    return fields


def _settings(base: dict[str, Any], temperature: Any, max_tokens: Any) -> dict[str, Any]:
    out = {k: v for k, v in base.items() if k not in ("temperature", "max_tokens")}
    if temperature is not None:
        out["temperature"] = temperature
    if max_tokens is not None:
        out["max_tokens"] = max_tokens
    return out


async def _apply(
    services: Services,
    owner: str,
    chat_id: str,
    title: str | None,
    config: schemas.ModelConfig | None,
) -> ConversationRead:
    chat = await services.conversations.get(owner, chat_id)
    fields = _config_fields(services, config, chat) if config is not None else {}
    if title is not None:
        fields["title"] = title
    if fields:
        chat = await services.conversations.update(owner, chat.id, ConversationUpdate(**fields))
    if config is not None:
        chat = await _store_key(services, owner, chat, config)
    return chat


async def _store_key(
    services: Services, owner: str, chat: ConversationRead, config: schemas.ModelConfig
) -> ConversationRead:
    """Save the chat's own key (encrypted, bound to its provider's origin) and link it.

    Only the masked preview is kept on the chat, to show it without reading keys.
    """
    if config.api_key is None or chat.provider is None:
        return chat
    if chat.attributes.get(KEY_PROVIDER) not in (None, chat.provider):
        await _drop_key(services, owner, chat)
    connection = await services.providers.save_connection(
        owner, chat.provider, api_key=config.api_key, label=CHAT_KEY_LABEL.format(chat.id)
    )
    attributes = chat.attributes | {
        KEY_PREVIEW: connection.key_preview,
        KEY_PROVIDER: connection.provider,
    }
    return await services.conversations.update(
        owner, chat.id, ConversationUpdate(connection_id=connection.id, attributes=attributes)
    )


async def _drop_key(services: Services, owner: str, chat: ConversationRead) -> None:
    """Delete the chat's own connection, if it has one."""
    provider = chat.attributes.get(KEY_PROVIDER)
    if not provider:
        return
    connection = await services.providers.get_connection(
        owner, provider, label=CHAT_KEY_LABEL.format(chat.id)
    )
    if connection is not None:
        await services.providers.delete_connection(owner, connection.id)


def _preview(chat: ConversationRead) -> str | None:
    """The masked key of the chat's own connection, while it serves the chat's provider."""
    if chat.attributes.get(KEY_PROVIDER) != chat.provider:
        return None
    preview = chat.attributes.get(KEY_PREVIEW)
    return str(preview) if preview else None
