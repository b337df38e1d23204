"""The PocketLLM face: `/v1` auth, profiles, chats, image jobs, models, providers, agents."""

from switchboard.faces.pocketllm.router import build_router, root_fields

__all__ = ["build_router", "root_fields"]
