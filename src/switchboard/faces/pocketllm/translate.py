"""Core objects → PocketLLM's wire shapes (timestamps ISO-8601 with milliseconds and `Z`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from switchboard.core.accounts.schemas import TokenPair, UserRead
from switchboard.core.catalog.saved import SavedModelRead
from switchboard.core.conversations.schemas import ConversationRead, MessageRead
from switchboard.core.images.schemas import CostEstimate
from switchboard.core.jobs.schemas import JobRead, JobStatus
from switchboard.core.llm import ModelInfo
from switchboard.core.providers.schemas import ConnectionRead
from switchboard.kit.clock import iso_z

# The document's job states; the core says `running` where PocketLLM says `processing`.
WIRE_STATUS = {JobStatus.RUNNING: "processing"}
CORE_STATUS = {
    "pending": JobStatus.PENDING,
    "processing": JobStatus.RUNNING,
    "running": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
}


def ts(value: datetime | None) -> str | None:
    """A timestamp on the wire."""
    return None if value is None else iso_z(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# --- accounts ----------------------------------------------------------------------------
def auth_user(user: UserRead, *, with_roles: bool = False) -> dict[str, Any]:
    """The `user` of signup and signin."""
    out: dict[str, Any] = {"id": user.id, "email": user.email, "created_at": ts(user.created_at)}
    if with_roles:
        out |= {"aud": "authenticated", "role": "authenticated"}
    return out


def session(pair: TokenPair) -> dict[str, Any]:
    """Signin's `session`, refresh's `tokens`."""
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "token_type": "bearer",
    }


def refreshed(pair: TokenPair) -> dict[str, Any]:
    """Refresh's `data`."""
    return {
        "tokens": session(pair),
        "session": {"session_id": pair.session_id, "expires_at": ts(pair.expires_at)},
    }


def profile(user: UserRead) -> dict[str, Any]:
    """The profile, with every field the profile and onboarding answers show."""
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "username": user.username,
        "bio": user.bio,
        "date_of_birth": _day(user.date_of_birth),
        "profession": user.profession,
        "heard_from": user.heard_from,
        "avatar_url": user.avatar_url,
        "survey_completed": user.survey_completed,
        "age": user.age,
        "onboarding": user.onboarding,
        "created_at": ts(user.created_at),
        "updated_at": ts(user.updated_at),
    }


# --- chats -------------------------------------------------------------------------------
def chat(conversation: ConversationRead, key_preview: str | None) -> dict[str, Any]:
    """A chat; its API key only ever as a masked preview."""
    config: dict[str, Any] = {}
    if conversation.provider:
        config["provider"] = conversation.provider
    if conversation.model:
        config["model"] = conversation.model
    if key_preview:
        config["apiKey"] = key_preview
    if conversation.system_prompt:
        config["systemPrompt"] = conversation.system_prompt
    settings = conversation.settings or {}
    if settings.get("temperature") is not None:
        config["temperature"] = settings["temperature"]
    if settings.get("max_tokens") is not None:
        config["maxTokens"] = settings["max_tokens"]
    return {
        "id": conversation.id,
        "user_id": conversation.user_id,
        "title": conversation.title,
        "model_config": config,
        "created_at": ts(conversation.created_at),
        "updated_at": ts(conversation.updated_at),
    }


def message(row: MessageRead) -> dict[str, Any]:
    """A chat message."""
    return {
        "id": row.id,
        "chat_id": row.conversation_id,
        "content": row.content,
        "role": row.role,
        "created_at": ts(row.created_at),
    }


def exchange(user_message: MessageRead, reply: MessageRead) -> dict[str, Any]:
    """The send-message answer: `assistantMessage` (document) and `aiMessage` (original app)."""
    assistant = message(reply)
    return {
        "userMessage": message(user_message),
        "assistantMessage": assistant,
        "aiMessage": assistant,
    }


# --- jobs --------------------------------------------------------------------------------
def job(row: JobRead, media_url: str) -> dict[str, Any]:
    """A job; `media_url` is the download path prefix for its images."""
    params = {k: v for k, v in row.params.items() if v is not None}
    return {
        "id": row.id,
        "user_id": row.user_id,
        "type": row.type,
        "status": WIRE_STATUS.get(row.status, row.status.value),
        "parameters": params,
        "result": _job_result(row, media_url),
        "error_message": row.error if row.status == JobStatus.FAILED else None,
        "progress": row.progress,
        "estimated_cost": row.estimated_cost,
        "actual_cost": row.actual_cost,
        "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
        "completed_at": ts(row.finished_at) if row.status.finished else None,
    }


def _job_result(row: JobRead, media_url: str) -> dict[str, Any] | None:
    if row.status != JobStatus.COMPLETED or row.result is None:
        return None
    images = [
        {
            "id": image.get("media_id"),
            "url": f"{media_url}/{image.get('media_id')}",
            "mimeType": image.get("mime_type"),
            "revisedPrompt": image.get("revised_prompt"),
        }
        for image in row.result.get("images", [])
        if image.get("media_id")
    ]
    return {
        "imageUrl": images[0]["url"] if images else None,
        "revisedPrompt": row.result.get("revised_prompt"),
        "images": images,
    }


# --- models and providers ------------------------------------------------------------------
def catalog_model(model: ModelInfo) -> dict[str, Any]:
    """One entry of `models`."""
    return {
        "provider": model.provider,
        "id": model.id,
        "name": model.name or model.id,
        "description": model.description,
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "metadata": {**model.metadata, "capabilities": list(model.capabilities)},
    }


def saved_model(row: SavedModelRead) -> dict[str, Any]:
    """A saved model."""
    return {
        "id": row.id,
        "name": row.name,
        "provider": row.provider,
        "model": row.model,
        "isDefault": row.is_default,
        "description": row.description,
        "providerId": row.connection_id,
        "settings": row.settings,
        "createdAt": ts(row.created_at),
        "updatedAt": ts(row.updated_at),
    }


def provider(connection: ConnectionRead) -> dict[str, Any]:
    """A provider configuration; the key only as its masked preview."""
    return {
        "id": connection.id,
        "provider": connection.provider,
        "display_name": connection.display_name,
        "base_url": connection.base_url,
        "is_active": connection.is_active,
        "has_api_key": connection.has_key,
        "api_key_preview": connection.key_preview,
        "metadata": connection.settings,
        "created_at": ts(connection.created_at),
        "updated_at": ts(connection.updated_at),
    }


def cost_estimate(estimate: CostEstimate) -> dict[str, Any]:
    """`{estimatedCost, currency, breakdown}`, as PocketLLM's estimate-cost returns it."""
    breakdown = estimate.breakdown
    return {
        "estimatedCost": estimate.estimated_cost,
        "currency": estimate.currency,
        "breakdown": {
            "model": breakdown.model,
            "size": breakdown.size,
            "quality": breakdown.quality,
            "quantity": breakdown.quantity,
            "unitCost": breakdown.unit_cost,
        },
    }
