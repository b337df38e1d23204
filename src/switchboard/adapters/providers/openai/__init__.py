"""OpenAI and OpenAI-compatible providers on the official `openai` SDK."""

from switchboard.adapters.providers.openai.provider import OpenAIProvider

__all__ = ["OpenAIProvider"]
