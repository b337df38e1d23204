"""Conversations and their messages, always looked up within their owner."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import Conversation, Message


class ConversationRepository:
    """Owner-scoped access to `conversations`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, owner_id: str, conversation_id: str) -> Conversation | None:
        """The conversation, if `owner_id` owns it."""
        return await self._session.scalar(
            select(Conversation).where(
                Conversation.id == conversation_id, Conversation.user_id == owner_id
            )
        )

    async def owner_of(self, conversation_id: str) -> str | None:
        """Who owns the conversation (for topic authorization); None when there is none."""
        return await self._session.scalar(
            select(Conversation.user_id).where(Conversation.id == conversation_id)
        )

    async def list(
        self, owner_id: str, *, limit: int, offset: int, source: str | None = None
    ) -> tuple[list[Conversation], int]:
        """A page of the owner's conversations, newest activity first, and the total."""
        where = [Conversation.user_id == owner_id]
        if source is not None:
            where.append(Conversation.source == source)
        total = await self._session.scalar(select(func.count()).where(*where)) or 0
        rows = await self._session.scalars(
            select(Conversation)
            .where(*where)
            .order_by(Conversation.updated_at.desc(), Conversation.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows), total

    async def by_external_id(
        self, owner_id: str, source: str, external_id: str
    ) -> Conversation | None:
        """The owner's conversation that a client of `source` calls `external_id`."""
        return await self._session.scalar(
            select(Conversation).where(
                Conversation.user_id == owner_id,
                Conversation.source == source,
                Conversation.external_id == external_id,
            )
        )

    def add(self, conversation: Conversation) -> None:
        """Stage a new conversation."""
        self._session.add(conversation)

    async def delete(self, conversation: Conversation) -> None:
        """Delete a conversation; its messages go with it."""
        await self._session.delete(conversation)

    async def flush(self) -> None:
        """Write staged changes so that defaults are filled in."""
        await self._session.flush()

    async def next_seq(self, conversation_id: str, count: int = 1) -> int:
        """Reserve `count` sequence numbers atomically; returns the first of them."""
        last = await self._session.scalar(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_seq=Conversation.last_seq + count)
            .returning(Conversation.last_seq)
        )
        assert last is not None
        return int(last) - count + 1


class MessageRepository:
    """Owner-scoped access to `messages`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, message: Message) -> None:
        """Stage a new message."""
        self._session.add(message)

    async def get(self, owner_id: str, message_id: str) -> Message | None:
        """The message, if `owner_id` owns it."""
        return await self._session.scalar(
            select(Message).where(Message.id == message_id, Message.user_id == owner_id)
        )

    async def page(
        self,
        owner_id: str,
        conversation_id: str,
        *,
        limit: int,
        offset: int = 0,
        after_seq: int | None = None,
    ) -> tuple[list[Message], int]:
        """Messages oldest first, by offset or after a sequence number, and the total."""
        where = [Message.conversation_id == conversation_id, Message.user_id == owner_id]
        total = await self._session.scalar(select(func.count()).where(*where)) or 0
        query = select(Message).where(*where).order_by(Message.seq).limit(limit)
        if after_seq is not None:
            query = query.where(Message.seq > after_seq)
        else:
            query = query.offset(offset)
        return list(await self._session.scalars(query)), total

    async def streaming_exists(self, owner_id: str, conversation_id: str) -> bool:
        """Whether the conversation has a message still in status `streaming`."""
        found = await self._session.scalar(
            select(Message.id)
            .where(
                Message.conversation_id == conversation_id,
                Message.user_id == owner_id,
                Message.status == "streaming",
            )
            .limit(1)
        )
        return found is not None

    async def latest(self, owner_id: str, conversation_id: str, limit: int) -> list[Message]:
        """The newest `limit` messages, returned oldest first (the model's context)."""
        rows = await self._session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.user_id == owner_id)
            .order_by(Message.seq.desc())
            .limit(limit)
        )
        return list(reversed(list(rows)))
