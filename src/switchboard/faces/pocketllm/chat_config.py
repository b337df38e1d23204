"""A chat's model configuration: PocketLLM's `model_config` onto the conversation, and
the chat's own API key as an encrypted provider connection."""

from __future__ import annotations

from typing import Any

from switchboard.core.catalog.saved import SavedModelRead
from switchboard.core.container import Services
from switchboard.core.conversations.schemas import ConversationRead, ConversationUpdate
from switchboard.core.errors import Invalid
from switchboard.core.providers.known import known_provider
from switchboard.faces.pocketllm import schemas

CHAT_KEY_LABEL = "chat:{}"
KEY_PREVIEW = "api_key_preview"
KEY_PROVIDER = "api_key_provider"


def saved_model_fields(saved: SavedModelRead) -> dict[str, Any]:
    """Conversation fields from a saved model (its settings are as this face stored them)."""
    settings = saved.settings
    return {
        "provider": saved.provider,
        "model": saved.model,
        "system_prompt": settings.get("systemPrompt"),
        "settings": _settings({}, settings.get("temperature"), settings.get("maxTokens")),
    }


def config_fields(
    services: Services, config: schemas.ModelConfig, current: ConversationRead | None
) -> dict[str, Any]:
    """Conversation fields for the model configuration fields that were sent."""
    sent = config.model_fields_set
    fields: dict[str, Any] = {}
    provider = _provider(config.provider)
    if "model" in sent and config.model is not None:
        name = f"{provider}/{config.model}" if provider else config.model
        try:
            ref = services.completions.resolve(name)
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


async def apply(
    services: Services,
    owner: str,
    chat_id: str,
    title: str | None,
    config: schemas.ModelConfig | None,
) -> ConversationRead:
    """Change the chat's title and the configuration fields that were sent."""
    chat = await services.conversations.get(owner, chat_id)
    fields = config_fields(services, config, chat) if config is not None else {}
    if title is not None:
        fields["title"] = title
    if fields:
        chat = await services.conversations.update(owner, chat.id, ConversationUpdate(**fields))
    if config is not None:
        chat = await store_key(services, owner, chat, config)
    return chat


async def store_key(
    services: Services, owner: str, chat: ConversationRead, config: schemas.ModelConfig
) -> ConversationRead:
    """Save the chat's own key (encrypted, bound to its provider's origin) and link it.

    Only the masked preview is kept on the chat, to show it without reading keys.
    """
    if config.api_key is None or chat.provider is None:
        return chat
    if chat.attributes.get(KEY_PROVIDER) not in (None, chat.provider):
        await drop_key(services, owner, chat)
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


async def drop_key(services: Services, owner: str, chat: ConversationRead) -> None:
    """Delete the chat's own connection, if it has one."""
    provider = chat.attributes.get(KEY_PROVIDER)
    if not provider:
        return
    connection = await services.providers.get_connection(
        owner, provider, label=CHAT_KEY_LABEL.format(chat.id)
    )
    if connection is not None:
        await services.providers.delete_connection(owner, connection.id)


def key_preview(chat: ConversationRead) -> str | None:
    """The masked key of the chat's own connection, while it serves the chat's provider."""
    if chat.attributes.get(KEY_PROVIDER) != chat.provider:
        return None
    preview = chat.attributes.get(KEY_PREVIEW)
    return str(preview) if preview else None


def _provider(name: str | None) -> str | None:
    """The canonical name of a provider the client named; 400 for an unknown one."""
    if name is None:
        return None
    known = known_provider(name)
    if known is None:
        raise Invalid(f"Unknown provider '{name[:64]}'", param="model_config.provider")
    return known.name


def _settings(base: dict[str, Any], temperature: Any, max_tokens: Any) -> dict[str, Any]:
    out = {k: v for k, v in base.items() if k not in ("temperature", "max_tokens")}
    if temperature is not None:
        out["temperature"] = temperature
    if max_tokens is not None:
        out["max_tokens"] = max_tokens
    return out
