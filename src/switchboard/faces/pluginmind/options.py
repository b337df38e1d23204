"""What the composition root tells the face (it never reads settings itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from switchboard.api.faces import face_options
from switchboard.faces.pluginmind.auth import CookiePolicy


@dataclass(frozen=True, slots=True)
class PluginMindOptions:
    """The name and build `/version` reports, and how the session cookie is set."""

    name: str = "switchboard"
    version: str = "0.0.0"
    git_sha: str | None = None
    cookie: CookiePolicy = field(default_factory=CookiePolicy)


OptionsDep = Annotated[PluginMindOptions, Depends(face_options(PluginMindOptions))]
