"""Stopping a reply being produced, on whichever replica produces it."""

from __future__ import annotations

from fastapi import Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ContextDep
from switchboard.faces.switchboard.routes import face_router, json

router = face_router("chat")


@router.post("/conversations/{conversation_id}/stop")
async def stop_reply(conversation_id: str, principal: PrincipalDep, ctx: ContextDep) -> Response:
    """Stop the reply being produced for a conversation, on any replica."""
    stopped = await ctx.replies.stop(principal.user_id, conversation_id)
    return json({"stopped": stopped})
