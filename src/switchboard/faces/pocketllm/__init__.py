"""The PocketLLM face: `/v1` auth, profiles, chats, image jobs, models, providers, agents."""

from switchboard.api.faces import FaceSpec
from switchboard.faces.pocketllm.auth import AUTH
from switchboard.faces.pocketllm.errors import render_error
from switchboard.faces.pocketllm.options import PocketLLMOptions
from switchboard.faces.pocketllm.routes import (
    agents,
    auth,
    chats,
    docs,
    images,
    jobs,
    messages,
    models,
    profile,
    providers,
)
from switchboard.faces.pocketllm.routes.docs import root_fields

FACE = FaceSpec(
    name="pocketllm",
    # In matching order: `images` before `jobs`, whose `/v1/jobs/{job_id}` would take
    # `/v1/jobs/image-generation/models`.
    routers=[
        auth.router,
        profile.router,
        chats.router,
        messages.router,
        images.router,
        jobs.router,
        models.router,
        providers.router,
        agents.router,
    ],
    render_error=render_error,
    auth=AUTH,
    options_type=PocketLLMOptions,
    shared=[docs.ROOT, models.CATALOG],
    optional_routers=docs.optional_routers,
)

__all__ = ["FACE", "PocketLLMOptions", "root_fields"]
