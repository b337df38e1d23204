"""Ollama models across the caller's profiles: list, details, load, unload, status."""

from __future__ import annotations

from switchboard.faces.spoonfeeder.routes.common import admit, api_router

router = api_router(admit("models"))
