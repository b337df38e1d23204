"""The OpenAI-compatible face: `/v1/chat/completions`, `/v1/embeddings`,
`/v1/images/generations` and `/v1/models`."""

from switchboard.api.faces import FaceSpec
from switchboard.faces.openai.auth import AUTH
from switchboard.faces.openai.errors import render_error
from switchboard.faces.openai.routes import chat, images, models

FACE = FaceSpec(
    name="openai",
    routers=[chat.router, models.router, images.router],
    render_error=render_error,
    auth=AUTH,
    shared=[models.MODELS],
)

__all__ = ["FACE"]
