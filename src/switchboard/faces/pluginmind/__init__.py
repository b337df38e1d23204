"""The PluginMind face: analyses, async analyses, Google sign-in cookie, usage, health."""

from __future__ import annotations

from typing import Any

from switchboard.faces.pluginmind.auth import CookiePolicy
from switchboard.faces.pluginmind.router import PluginMindOptions, build_router

DESCRIPTION = "AI analysis workflows: prompt optimization, then a specialised analyzer"
FEATURES = {"ai_service_registry": True, "plugin_architecture": True, "4d_prompt_engine": True}


def root_fields(*, name: str, version: str, docs_url: str | None) -> dict[str, Any]:
    """PluginMind's fields of `GET /` (merged with other faces' at the composition root).

    `docs_url` is the Swagger path when docs are served (the original showed it only in
    debug), else None.
    """
    return {
        "name": name,
        "version": version,
        "description": DESCRIPTION,
        "features": dict(FEATURES),
        "docs": docs_url,
        "health": "/health",
    }


__all__ = ["CookiePolicy", "PluginMindOptions", "build_router", "root_fields"]


# TEMPORARY shim until this face is converted to module-level routes with admission.
from switchboard.api.auth import BEARER as _BEARER  # noqa: E402
from switchboard.api.faces import FaceSpec as _FaceSpec  # noqa: E402
from switchboard.faces.pluginmind.errors import render_error as _render_error  # noqa: E402

FACE = _FaceSpec(
    name="pluginmind", routers=[build_router()], render_error=_render_error, auth=_BEARER,
    admission_checked=False,
)
