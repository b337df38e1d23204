"""`/docs` (Swagger UI) and `/redoc` that work without internet access.

FastAPI's own pages load their scripts, styles and favicon from a CDN, so on a network
without internet `/docs` was a blank page. The same pages are served here with the
assets that the `fastapi-offline` package ships (kept up to date with Swagger UI and
ReDoc releases), under `/docs/assets`: nothing in them points off the server.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
# Swagger UI keeps the credentials entered with "Authorize" across reloads, and never
# asks an online validator about the document.
SWAGGER_UI_PARAMETERS = {"persistAuthorization": True, "validatorUrl": None}


def assets_directory() -> Path:
    """Where the installed `fastapi-offline` package keeps Swagger UI's and ReDoc's files."""
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at `/docs` and ReDoc at `/redoc`, with their assets."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    title = app.title

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=root + str(app.openapi_url),
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=root + str(app.openapi_url),
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )


def _root(request: Request) -> str:
    # Behind a proxy that mounts the app under a prefix, links keep that prefix.
    return str(request.scope.get("root_path", "")).rstrip("/")
