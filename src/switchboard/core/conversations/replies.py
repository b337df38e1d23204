"""Replies asked for inside a caller's unit of work (a request that first changed the chat).

`ReplyRunner` works in units of work of its own. Those must see what the caller's unit
of work changed (a chat's new model settings) and must not wait on its locks, so every
call here runs the caller's `checkpoint` first: its owner commits there, as
`CompletionService` does before calling an upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from switchboard.core.conversations.runner import ReplyEvent, ReplyOptions, ReplyRunner
from switchboard.core.conversations.schemas import MessageRead

Checkpoint = Callable[[], Awaitable[None]]


class ChatReplies:
    """`ReplyRunner.send` and `.stream`, each after the caller's checkpoint."""

    def __init__(self, runner: ReplyRunner, *, checkpoint: Checkpoint) -> None:
        self._runner = runner
        self._checkpoint = checkpoint

    async def send(
        self, owner_id: str, conversation_id: str, content: str, options: ReplyOptions
    ) -> tuple[MessageRead, MessageRead]:
        """Store the message and the whole reply; returns (user, assistant)."""
        await self._checkpoint()
        return await self._runner.send(owner_id, conversation_id, content, options)

    async def stream(
        self, owner_id: str, conversation_id: str, content: str, options: ReplyOptions
    ) -> AsyncIterator[ReplyEvent]:
        """Store the message; the returned iterator yields the reply as it arrives."""
        await self._checkpoint()
        return self._runner.stream(owner_id, conversation_id, content, options)
