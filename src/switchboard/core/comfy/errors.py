"""Errors of the ComfyUI workspace."""

from __future__ import annotations

from switchboard.core.errors import NotFound, UpstreamUnavailable


class ComfySessionNotFound(NotFound):
    """No such session for this user."""

    default_code = "session_not_found"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"Session {session_id[:64]} not found")


class ComfyWorkflowNotFound(NotFound):
    """No such workflow for this user."""

    default_code = "workflow_not_found"

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"Workflow {workflow_id[:64]} not found")


class GenerationNotFound(NotFound):
    """No such generation for this user."""

    default_code = "generation_not_found"

    def __init__(self, generation_id: str) -> None:
        super().__init__(f"Generation {generation_id[:64]} not found")


class ImageNotFound(NotFound):
    """No output of the caller's generations has this name (or the name is unsafe)."""

    default_code = "image_not_found"

    def __init__(self) -> None:
        super().__init__("Image not found")


class ComfyUnreachable(UpstreamUnavailable):
    """ComfyUI could not be reached; the message is the one Spoon Feeder clients know."""

    default_code = "workflow_engine_unreachable"

    def __init__(self) -> None:
        super().__init__("Cannot connect to ComfyUI. Is it running?")


class ComfyNotConfigured(UpstreamUnavailable):
    """The operator has not set COMFYUI_URL: there is no engine to run anything on."""

    default_code = "workflow_engine_not_configured"

    def __init__(self) -> None:
        super().__init__("ComfyUI is not configured on this server (COMFYUI_URL is not set)")
