"""switchboard's own API (`/switchboard/v1`): jobs, schedules, live events, stopping replies
and usage — what the five documented faces have no place for."""

from switchboard.faces.switchboard.router import build_router

__all__ = ["build_router"]


# TEMPORARY shim until this face is converted to module-level routes with admission.
from switchboard.api.auth import BEARER as _BEARER  # noqa: E402
from switchboard.api.faces import FaceSpec as _FaceSpec  # noqa: E402
from switchboard.faces.switchboard.errors import render_error as _render_error  # noqa: E402

FACE = _FaceSpec(
    name="switchboard", routers=[build_router()], render_error=_render_error, auth=_BEARER,
    admission_checked=False,
)
