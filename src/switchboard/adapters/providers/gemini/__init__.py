"""Google Gemini adapter on the official `google-genai` SDK."""

from .provider import GeminiProvider

__all__ = ["GeminiProvider"]
