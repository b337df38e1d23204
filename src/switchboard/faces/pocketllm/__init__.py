"""The PocketLLM face: `/v1` auth, profiles, chats, image jobs, models, providers, agents."""

from switchboard.faces.pocketllm.router import build_router, root_fields

__all__ = ["build_router", "root_fields"]


# TEMPORARY shim until this face is converted to module-level routes with admission.
from switchboard.api.auth import BEARER as _BEARER  # noqa: E402
from switchboard.api.faces import FaceSpec as _FaceSpec  # noqa: E402
from switchboard.faces.pocketllm.errors import render_error as _render_error  # noqa: E402

FACE = _FaceSpec(
    name="pocketllm", routers=[build_router()], render_error=_render_error, auth=_BEARER,
    admission_checked=False,
)

from dataclasses import dataclass as _dc  # noqa: E402


@_dc(frozen=True)
class PocketLLMOptions:
    docs_enabled: bool = True
