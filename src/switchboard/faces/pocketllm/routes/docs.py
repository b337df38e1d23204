"""The document's legacy docs path `/api/docs`, and PocketLLM's part of `GET /`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from switchboard.api.faces import face_options
from switchboard.api.shared_paths import SharedFragment
from switchboard.faces.pocketllm.options import PocketLLMOptions
from switchboard.faces.pocketllm.routes.common import ROUTE_CLASS, public

DOCS_PATH = "/docs"
LEGACY_DOCS_PATH = "/api/docs"

# Mounted only while docs are served (`optional_routers`); absent, the path is a 404.
router = APIRouter(route_class=ROUTE_CLASS, dependencies=[public(None)])
options_of = face_options(PocketLLMOptions)


@router.get(LEGACY_DOCS_PATH, include_in_schema=False)
async def legacy_docs() -> RedirectResponse:
    """The legacy Swagger UI path: the same UI as `/docs`."""
    return RedirectResponse(DOCS_PATH, status_code=307)


def optional_routers(options: PocketLLMOptions) -> list[APIRouter]:
    """The legacy docs alias, when docs are served."""
    return [router] if options.docs_enabled else []


def root_fields(*, docs_enabled: bool = True) -> dict[str, str | None]:
    """PocketLLM's fields of `GET /`: the active docs paths (None when docs are off)."""
    return {
        "docs": DOCS_PATH if docs_enabled else None,
        "legacy_docs": LEGACY_DOCS_PATH if docs_enabled else None,
    }


async def root_fragment(request: Request, *_: Any) -> dict[str, Any]:
    """PocketLLM's own key of `GET /` (`docs` is the app's, with the same value)."""
    options = await options_of(request)
    return {"legacy_docs": root_fields(docs_enabled=options.docs_enabled)["legacy_docs"]}


ROOT = SharedFragment("/", frozenset({"legacy_docs"}), root_fragment)
