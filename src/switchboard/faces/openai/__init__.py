"""The OpenAI-compatible face: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`."""

from switchboard.faces.openai.router import build_router

__all__ = ["build_router"]
