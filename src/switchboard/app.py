"""The ASGI application: mounts the enabled faces on one shared core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI, Request, Response

from switchboard import __version__
from switchboard.api.context import AppContext
from switchboard.api.errors import INTERNAL_ERROR, face_renderer
from switchboard.api.metrics import metrics_router
from switchboard.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from switchboard.api.responses import JSONResponse
from switchboard.bootstrap import build_context
from switchboard.config import Settings
from switchboard.faces import openai as openai_face
from switchboard.faces import pluginmind as pluginmind_face
from switchboard.faces import pocketllm as pocketllm_face
from switchboard.faces import switchboard as native_face
from switchboard.logs import configure_logging

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    """The switchboard app for `settings` (read from the environment when omitted)."""
    settings = settings or Settings()
    ctx = context or build_context(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ctx.recorder.start()
        async with ctx.unit_of_work() as uow:
            await ctx.services(uow).accounts.ensure_owner(settings.owner_email)
        await ctx.job_runtime.start(consume=_runs_jobs(settings))
        stops = asyncio.create_task(ctx.replies.listen_for_stops(), name="reply-stops")
        log.info("started", version=__version__, faces=list(settings.faces))
        try:
            yield
        finally:
            stops.cancel()
            await ctx.replies.drain()
            await ctx.job_runtime.stop()
            await ctx.bus.aclose()
            await ctx.recorder.aclose()
            await ctx.providers.factory.aclose()
            await ctx.engine.dispose()

    app = FastAPI(
        title="switchboard",
        version=__version__,
        description="A self-hosted AI backend: five LLM app APIs and the OpenAI API.",
        lifespan=lifespan,
        docs_url="/docs" if settings.enable_swagger_docs else None,
        redoc_url="/redoc" if settings.enable_swagger_docs else None,
    )
    app.state.ctx = ctx
    app.state.settings = settings
    _mount_faces(app, settings)
    app.include_router(_root_router(settings))
    app.include_router(metrics_router())
    app.include_router(_health_router(ctx))
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (used by `switchboard serve --workers N`)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def _runs_jobs(settings: Settings) -> bool:
    # Without Redis the server is the only place jobs can run; with Redis, workers do.
    if settings.jobs_in_process == "auto":
        return settings.redis_url is None
    return settings.jobs_in_process == "on"


def _mount_faces(app: FastAPI, settings: Settings) -> None:
    pocketllm = "pocketllm" in settings.faces
    if "openai" in settings.faces:
        # With PocketLLM mounted, its `/v1/models` answers OpenAI clients too (DESIGN.md).
        app.include_router(openai_face.build_router(include_models=not pocketllm))
    if pocketllm:
        app.include_router(pocketllm_face.build_router(docs_alias=settings.enable_swagger_docs))
    if "pluginmind" in settings.faces:
        app.include_router(pluginmind_face.build_router(_pluginmind_options(settings)))
    if "switchboard" in settings.faces:
        app.include_router(native_face.build_router())


def _pluginmind_options(settings: Settings) -> pluginmind_face.PluginMindOptions:
    return pluginmind_face.PluginMindOptions(
        name="switchboard",
        version=__version__,
        git_sha=settings.git_sha,
        rate_limit=settings.pluginmind_rate_limit,
        cookie=pluginmind_face.CookiePolicy(
            secure=settings.pluginmind_cookie_secure, domain=settings.pluginmind_cookie_domain
        ),
    )


def _root_router(settings: Settings) -> APIRouter:
    """`GET /` is shared: PluginMind's fields and PocketLLM's docs path in one answer."""
    router = APIRouter(tags=["operations"])
    docs = "/docs" if settings.enable_swagger_docs else None
    body: dict[str, object] = {"name": "switchboard", "version": __version__, "docs": docs}
    if "pluginmind" in settings.faces:
        body |= pluginmind_face.root_fields(name="switchboard", version=__version__, docs_url=docs)
    if "pocketllm" in settings.faces:
        body |= pocketllm_face.root_fields(docs_enabled=settings.enable_swagger_docs)
    body["faces"] = list(settings.faces)

    @router.get("/", include_in_schema=False)
    async def root() -> JSONResponse:
        return JSONResponse(body)

    return router


def _health_router(ctx: AppContext) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        report = await ctx.health.report()
        body = {
            "status": report.status,
            "version": __version__,
            "checks": {
                c.name: {"ok": c.ok, "latency_ms": c.latency_ms, "error": c.error}
                for c in report.checks
            },
            "providers": report.providers,
        }
        return JSONResponse(body, status_code=200 if report.ready else 503)

    return router


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # A bug: log it whole, tell the client only that it happened, in the face's shape.
    request_id = request.scope.get("state", {}).get("request_id")
    log.exception("unhandled_error", path=request.url.path, exc_info=exc)
    render = face_renderer(request)
    if render is not None:
        response = render(request, INTERNAL_ERROR)
    else:
        response = JSONResponse(_generic_error(request_id), status_code=500)
    # This response leaves through Starlette's outermost layer, past our middleware.
    if request_id:
        response.headers["X-Request-ID"] = request_id
    return response


def _generic_error(request_id: str | None) -> dict[str, object]:
    return {
        "error": {
            "message": INTERNAL_ERROR.message,
            "type": "server_error",
            "code": INTERNAL_ERROR.code,
            "request_id": request_id,
        }
    }
