"""Conversation CRUD and history, inside the caller's unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.conversations.errors import ConversationNotFound
from switchboard.core.conversations.repository import ConversationRepository, MessageRepository
from switchboard.core.conversations.schemas import (
    ConversationCreate,
    ConversationRead,
    ConversationUpdate,
    MessageRead,
    MessageStatus,
)
from switchboard.kit.clock import utcnow
from switchboard.kit.ids import canonical_id
from switchboard.kit.pagination import Page, decode_cursor, encode_cursor
from switchboard.models import Conversation, Message

MAX_PAGE = 100


class ConversationService:
    """A user's conversations and their stored messages."""

    def __init__(self, session: AsyncSession) -> None:
        self._conversations = ConversationRepository(session)
        self._messages = MessageRepository(session)

    async def create(self, owner_id: str, data: ConversationCreate) -> ConversationRead:
        """Start a conversation."""
        conversation = Conversation(user_id=owner_id, **data.model_dump())
        self._conversations.add(conversation)
        await self._conversations.flush()
        return ConversationRead.model_validate(conversation)

    async def get(self, owner_id: str, conversation_id: str) -> ConversationRead:
        """One of the user's conversations; 404 for anyone else's."""
        return ConversationRead.model_validate(await self._require(owner_id, conversation_id))

    async def list_conversations(
        self, owner_id: str, *, limit: int = 50, offset: int = 0, source: str | None = None
    ) -> Page[ConversationRead]:
        """The user's conversations, most recently active first."""
        rows, total = await self._conversations.list(
            owner_id, limit=_clamp(limit), offset=max(offset, 0), source=source
        )
        return Page([ConversationRead.model_validate(r) for r in rows], total=total)

    async def find_external(
        self, owner_id: str, source: str, external_id: str
    ) -> ConversationRead | None:
        """The user's conversation named `external_id` by a client of `source`, or None."""
        row = await self._conversations.by_external_id(owner_id, source, external_id)
        return None if row is None else ConversationRead.model_validate(row)

    async def update(
        self, owner_id: str, conversation_id: str, change: ConversationUpdate
    ) -> ConversationRead:
        """Change the title, model or settings of a conversation."""
        conversation = await self._require(owner_id, conversation_id)
        for field, value in change.model_dump(exclude_unset=True).items():
            setattr(conversation, field, value)
        conversation.updated_at = utcnow()
        await self._conversations.flush()
        return ConversationRead.model_validate(conversation)

    async def delete(self, owner_id: str, conversation_id: str) -> None:
        """Delete a conversation and all its messages."""
        await self._conversations.delete(await self._require(owner_id, conversation_id))

    async def messages(
        self,
        owner_id: str,
        conversation_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page[MessageRead]:
        """Messages oldest first, by offset or by the cursor of the previous page."""
        await self._require(owner_id, conversation_id)
        after_seq = decode_cursor(cursor) if cursor else None
        rows, total = await self._messages.page(
            owner_id,
            conversation_id,
            limit=_clamp(limit),
            offset=max(offset, 0),
            after_seq=after_seq,
        )
        next_cursor = encode_cursor(rows[-1].seq) if len(rows) == _clamp(limit) else None
        return Page(
            [MessageRead.model_validate(r) for r in rows], total=total, next_cursor=next_cursor
        )

    async def append(
        self,
        owner_id: str,
        conversation_id: str,
        *,
        role: str,
        content: str,
        status: MessageStatus = MessageStatus.COMPLETE,
        provider: str | None = None,
        model: str | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> MessageRead:
        """Append a message with the next sequence number; a streaming reply carries the
        `lease` (replica, until) of the replica producing it."""
        conversation = await self._require(owner_id, conversation_id)
        message = await self._append(conversation, role, content, status, provider, model, lease)
        return MessageRead.model_validate(message)

    async def history(self, owner_id: str, conversation_id: str, limit: int) -> list[Message]:
        """The newest `limit` messages, oldest first, for a model's context."""
        return await self._messages.latest(owner_id, conversation_id, limit)

    async def require(self, owner_id: str, conversation_id: str) -> Conversation:
        """The conversation row itself (for other core code); 404 when not the user's."""
        return await self._require(owner_id, conversation_id)

    async def has_streaming_reply(self, owner_id: str, conversation_id: str) -> bool:
        """Whether a reply of this conversation is still being produced somewhere."""
        return await self._messages.streaming_exists(owner_id, conversation_id)

    async def message_row(self, owner_id: str, message_id: str) -> Message | None:
        """A message row of the user's, for the reply runner to finish."""
        return await self._messages.get(owner_id, message_id)

    async def _append(
        self,
        conversation: Conversation,
        role: str,
        content: str,
        status: MessageStatus,
        provider: str | None,
        model: str | None,
        lease: tuple[str, datetime] | None = None,
    ) -> Message:
        seq = await self._conversations.next_seq(conversation.id)
        message = Message(
            conversation_id=conversation.id,
            user_id=conversation.user_id,
            seq=seq,
            role=role,
            content=content,
            status=status.value,
            provider=provider,
            model=model,
            completed_at=utcnow() if status == MessageStatus.COMPLETE else None,
            lease_owner=lease[0] if lease else None,
            lease_expires_at=lease[1] if lease else None,
        )
        self._messages.add(message)
        conversation.updated_at = utcnow()
        await self._conversations.flush()
        return message

    async def _require(self, owner_id: str, conversation_id: str) -> Conversation:
        key = canonical_id(conversation_id)
        conversation = await self._conversations.get(owner_id, key) if key else None
        if conversation is None:
            raise ConversationNotFound()
        return conversation


def _clamp(limit: int) -> int:
    return min(max(limit, 1), MAX_PAGE)
