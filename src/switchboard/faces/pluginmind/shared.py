"""PluginMind's part of `GET /` (the app owns `name`, `version` and `docs` there)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from switchboard.api.shared_paths import SharedFragment
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services

DESCRIPTION = "AI analysis workflows: prompt optimization, then a specialised analyzer"
FEATURES = {"ai_service_registry": True, "plugin_architecture": True, "4d_prompt_engine": True}


async def root_fields(_: Request, __: Services, ___: Principal | None) -> dict[str, Any]:
    """The fields PluginMind's frontend reads from `GET /`."""
    return {"description": DESCRIPTION, "features": dict(FEATURES), "health": "/health"}


ROOT = SharedFragment("/", frozenset({"description", "features", "health"}), root_fields)
