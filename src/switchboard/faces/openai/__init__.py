"""The OpenAI-compatible face: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`."""

from switchboard.faces.openai.router import build_router

__all__ = ["build_router"]


# TEMPORARY shim until this face is converted to module-level routes with admission.
from switchboard.api.auth import BEARER as _BEARER  # noqa: E402
from switchboard.api.faces import FaceSpec as _FaceSpec  # noqa: E402
from switchboard.faces.openai.errors import render_error as _render_error  # noqa: E402

FACE = _FaceSpec(
    name="openai", routers=[build_router(include_models=False)], render_error=_render_error, auth=_BEARER,
    admission_checked=False,
)
