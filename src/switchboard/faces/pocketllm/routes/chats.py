"""`/v1/chats` and `/v1/chats/{id}`: chats with their model configuration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from switchboard.api.context import ServicesDep
from switchboard.api.inputs import Offset
from switchboard.api.openapi import raises
from switchboard.core.conversations.schemas import ConversationCreate
from switchboard.core.errors import ErrorKind
from switchboard.faces.pocketllm import chat_config, schemas, translate
from switchboard.faces.pocketllm.auth import PrincipalDep
from switchboard.faces.pocketllm.envelope import ok
from switchboard.faces.pocketllm.routes.common import SOURCE, admit, v1_router

router = v1_router(admit("chat"))


@router.get("/chats", response_model=None)
async def list_chats(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    offset: Offset = 0,
) -> Response:
    """The caller's PocketLLM chats, most recently active first."""
    page = await services.conversations.list_conversations(
        principal.user_id, limit=limit, offset=offset, source=SOURCE
    )
    return ok(request, [translate.chat(c, chat_config.key_preview(c)) for c in page.items])


@router.post(
    "/chats", status_code=201, response_model=None, openapi_extra=raises(ErrorKind.NOT_FOUND)
)
async def create_chat(
    body: schemas.ChatCreate, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Start a chat; an `apiKey` is stored encrypted as the chat's own connection."""
    owner = principal.user_id
    config = body.config or schemas.ModelConfig()
    fields: dict[str, Any] = {}
    if body.model_config_id is not None:
        saved = await services.saved_models.get(owner, body.model_config_id)
        fields = chat_config.saved_model_fields(saved)
    fields |= chat_config.config_fields(services, config, current=None)
    chat = await services.conversations.create(
        owner, ConversationCreate(title=body.title, source=SOURCE, **fields)
    )
    chat = await chat_config.store_key(services, owner, chat, config)
    if body.initial_message is not None:
        await services.conversations.append(
            owner, chat.id, role="user", content=body.initial_message
        )
        chat = await services.conversations.get(owner, chat.id)
    return ok(request, translate.chat(chat, chat_config.key_preview(chat)), 201)


@router.get("/chats/{chat_id}", response_model=None)
async def get_chat(
    chat_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """One chat."""
    chat = await services.conversations.get(principal.user_id, chat_id)
    return ok(request, translate.chat(chat, chat_config.key_preview(chat)))


@router.put("/chats/{chat_id}", response_model=None)
async def update_chat(
    chat_id: str,
    body: schemas.ChatUpdate,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Change the title or the model configuration (only the fields sent)."""
    chat = await chat_config.apply(services, principal.user_id, chat_id, body.title, body.config)
    return ok(request, translate.chat(chat, chat_config.key_preview(chat)))


@router.delete("/chats/{chat_id}", response_model=None)
async def delete_chat(
    chat_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Delete the chat, its messages and its own key."""
    owner = principal.user_id
    chat = await services.conversations.get(owner, chat_id)
    await chat_config.drop_key(services, owner, chat)
    await services.conversations.delete(owner, chat.id)
    return ok(request, {"message": "Chat deleted successfully"})
