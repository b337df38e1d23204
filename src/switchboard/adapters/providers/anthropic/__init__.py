"""Anthropic adapter on the official `anthropic` SDK."""

from .provider import AnthropicProvider

__all__ = ["AnthropicProvider"]
