"""Errors of the conversations domain."""

from switchboard.core.errors import NotFound, ServiceUnavailable

SERVER_SHUTDOWN = "server_shutdown"


class ConversationNotFound(NotFound):
    """No such conversation for this user."""

    default_code = "conversation_not_found"

    def __init__(self) -> None:
        super().__init__("Conversation not found")


class ShuttingDown(ServiceUnavailable):
    """The server is stopping: replies in flight end now, with the text so far."""

    default_code = SERVER_SHUTDOWN

    def __init__(self) -> None:
        # Another replica (or this one, restarted) can answer a retry.
        super().__init__("The server is shutting down; try again", retry_after=1)
