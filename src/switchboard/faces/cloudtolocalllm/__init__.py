"""The CloudToLocalLLM face (`/api`): so far its health and monitoring routes
(`GET /api/health`, shared with Spoon Feeder, and `GET /api/health/detailed`)."""

from __future__ import annotations

from switchboard.api.faces import FaceSpec
from switchboard.faces.cloudtolocalllm.auth import CHAIN
from switchboard.faces.cloudtolocalllm.errors import render_error
from switchboard.faces.cloudtolocalllm.monitor import monitoring
from switchboard.faces.cloudtolocalllm.options import CloudToLocalLLMOptions
from switchboard.faces.cloudtolocalllm.routes import health

FACE = FaceSpec(
    name="cloudtolocalllm",
    routers=[health.router],
    render_error=render_error,
    auth=CHAIN,
    options_type=CloudToLocalLLMOptions,
    shared=[health.HEALTH],
    lifespans=[monitoring],
)

__all__ = ["FACE", "CloudToLocalLLMOptions"]
