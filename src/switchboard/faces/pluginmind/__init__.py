"""The PluginMind face: analyses, async analyses, Google sign-in cookie, usage, health."""

from __future__ import annotations

from switchboard.api.faces import FaceSpec
from switchboard.faces.pluginmind.auth import CHAIN, CookiePolicy
from switchboard.faces.pluginmind.errors import render_error
from switchboard.faces.pluginmind.options import PluginMindOptions
from switchboard.faces.pluginmind.routes import analysis, jobs, meta, signin, users
from switchboard.faces.pluginmind.shared import ROOT

FACE = FaceSpec(
    name="pluginmind",
    routers=[analysis.router, jobs.router, users.router, signin.router, meta.router],
    render_error=render_error,
    auth=CHAIN,
    options_type=PluginMindOptions,
    shared=[ROOT],
)

__all__ = ["FACE", "CookiePolicy", "PluginMindOptions"]
