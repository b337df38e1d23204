"""Ollama adapter on the official `ollama` SDK."""

from .provider import OllamaProvider

__all__ = ["OllamaProvider"]
