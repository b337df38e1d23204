"""Replies in flight on this process, so that a stop request can reach them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

STOPPED = "stopped"


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
        # Why each interrupted reply ended: "stopped" (its owner) or "server_shutdown".
        self._reasons: dict[str, str] = {}

    def register(self, conversation_id: str, owner_id: str, task: asyncio.Task[object]) -> None:
        """Track `task` as the reply being produced for `owner_id`'s conversation."""
        self._replies[conversation_id] = _Reply(owner_id, task)
        self._reasons.pop(conversation_id, None)

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
        self._reasons[conversation_id] = STOPPED
        reply.task.cancel()
        return True

    def interrupt_all(self, reason: str) -> int:
        """Cancel every reply in flight here, recording `reason` (server shutdown);
        returns how many there were."""
        count = 0
        for conversation_id, reply in list(self._replies.items()):
            if not reply.task.done():
                self._reasons[conversation_id] = reason
                reply.task.cancel()
                count += 1
        return count

    def was_stopped(self, conversation_id: str) -> bool:
        """Whether the last reply of `conversation_id` was interrupted on purpose (its
        owner stopped it, or the server is shutting down)."""
        return conversation_id in self._reasons

    def reason(self, conversation_id: str) -> str | None:
        """Why the last reply of `conversation_id` was interrupted, if it was."""
        return self._reasons.get(conversation_id)

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._replies
