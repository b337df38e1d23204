"""Replies in flight on this process, so that a stop request can reach them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Reply:
    owner_id: str
    task: asyncio.Task[object]


class ActiveReplies:
    """Conversation id → the owner and the task producing its reply.

    A stop cancels that task, which closes the upstream call. Only the conversation's
    owner may stop it. Stops arriving on another replica reach this one through the
    event bus (`ReplyRunner.listen_for_stops`).
    """

    def __init__(self) -> None:
        self._replies: dict[str, _Reply] = {}
        self._stopped: set[str] = set()

    def register(self, conversation_id: str, owner_id: str, task: asyncio.Task[object]) -> None:
        """Track `task` as the reply being produced for `owner_id`'s conversation."""
        self._replies[conversation_id] = _Reply(owner_id, task)
        self._stopped.discard(conversation_id)

    def unregister(self, conversation_id: str, task: asyncio.Task[object]) -> None:
        """Forget the reply, if `task` is still the one registered."""
        reply = self._replies.get(conversation_id)
        if reply is not None and reply.task is task:
            del self._replies[conversation_id]

    def stop(self, owner_id: str, conversation_id: str) -> bool:
        """Cancel `owner_id`'s reply in flight here; False when there is none of theirs."""
        reply = self._replies.get(conversation_id)
        if reply is None or reply.owner_id != owner_id or reply.task.done():
            return False
        self._stopped.add(conversation_id)
        reply.task.cancel()
        return True

    def was_stopped(self, conversation_id: str) -> bool:
        """Whether the last reply of `conversation_id` ended because someone stopped it."""
        return conversation_id in self._stopped

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._replies
