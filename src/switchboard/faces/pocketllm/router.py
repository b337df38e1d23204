"""Routes of the PocketLLM face (`/v1/...`), in its envelope and error shapes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from switchboard.api.errors import face_route_class
from switchboard.faces.pocketllm import (
    agent_routes,
    auth_routes,
    chat_routes,
    job_routes,
    model_routes,
)
from switchboard.faces.pocketllm.errors import render_error

DOCS_PATH = "/docs"
LEGACY_DOCS_PATH = "/api/docs"


def build_router(*, docs_alias: bool = True) -> APIRouter:
    """The face's routes; `docs_alias` adds `/api/docs` (the document's legacy docs path)."""
    v1 = APIRouter(prefix="/v1", tags=["pocketllm"], route_class=face_route_class(render_error))
    auth_routes.register(v1)
    chat_routes.register(v1)
    job_routes.register(v1)
    model_routes.register(v1)
    agent_routes.register(v1)
    router = APIRouter()
    router.include_router(v1)
    if docs_alias:

        @router.get(LEGACY_DOCS_PATH, include_in_schema=False)
        async def legacy_docs() -> RedirectResponse:
            """The legacy Swagger UI path: the same UI as `/docs`."""
            return RedirectResponse(DOCS_PATH, status_code=307)

    return router


def root_fields(*, docs_enabled: bool = True) -> dict[str, str | None]:
    """PocketLLM's fields of `GET /`: the active docs path (None when docs are off)."""
    return {
        "docs": DOCS_PATH if docs_enabled else None,
        "legacy_docs": LEGACY_DOCS_PATH if docs_enabled else None,
    }
