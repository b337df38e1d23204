"""Errors of the conversations domain."""

from switchboard.core.errors import NotFound


class ConversationNotFound(NotFound):
    """No such conversation for this user."""

    default_code = "conversation_not_found"

    def __init__(self) -> None:
        super().__init__("Conversation not found")
