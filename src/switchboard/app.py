"""The ASGI application: mounts the enabled faces on one shared core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response

from switchboard import __version__
from switchboard.api.allow import method_not_allowed
from switchboard.api.cors import CorsMiddleware, cors_error_headers
from switchboard.api.docs import install_docs
from switchboard.api.draining import Draining, draining_of
from switchboard.api.errors import (
    INTERNAL_ERROR,
    ErrorInfo,
    error_headers,
    face_renderer,
    status_of,
    unexpected_error_info,
)
from switchboard.api.faces import EnabledFace, mount_faces
from switchboard.api.health import health_router
from switchboard.api.metrics import metrics_router
from switchboard.api.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    TrustedProxyMiddleware,
    redirect_slashes_relatively,
)
from switchboard.api.openapi import install_openapi
from switchboard.api.realtime.slots import install_stream_slots
from switchboard.api.responses import JSONResponse
from switchboard.api.route_index import index_routes
from switchboard.api.shared_paths import Contribution, SharedFragment
from switchboard.bootstrap import allowed_origins, build_context, ensure_owner_account
from switchboard.config import Settings
from switchboard.core.container import AppContext
from switchboard.logs import configure_logging
from switchboard.registry import enabled_faces

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    """The switchboard app for `settings` (read from the environment when omitted)."""
    settings = settings or Settings()
    ctx = context or build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_stream_slots(app, settings.max_streams_per_user)
        # Streams must learn of SIGTERM before uvicorn waits for their connections to close.
        draining = draining_of(app)
        disarm = draining.arm()
        ctx.recorder.start()
        await ensure_owner_account(ctx, settings.owner_email)
        await ctx.job_runtime.start(consume=_runs_jobs(settings))
        # Replies left `streaming` by replicas that died (this one, before a restart).
        await ctx.replies.leases.sweep()
        stopping = asyncio.Event()
        heartbeat = asyncio.create_task(ctx.replies.leases.run(stopping), name="reply-leases")
        tasks = [
            asyncio.create_task(ctx.replies.listen_for_stops(), name="reply-stops"),
            asyncio.create_task(_end_replies_on_drain(ctx, draining), name="reply-drain"),
        ]
        try:
            async with AsyncExitStack() as face_hooks:
                for hook in hooks:
                    await face_hooks.enter_async_context(hook(ctx))
                log.info("started", version=__version__, faces=[f.spec.name for f in faces])
                yield
        finally:
            disarm()
            stopping.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(heartbeat, *tasks, return_exceptions=True)
            await _close_context(ctx)

    app = FastAPI(
        title="switchboard",
        version=__version__,
        description="A self-hosted AI backend: five LLM app APIs and the OpenAI API.",
        lifespan=lifespan,
        # Served by `install_docs`, from local assets: FastAPI's pages load them from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.settings = settings
    faces = enabled_faces(settings)
    hooks = mount_faces(app, ctx, faces, extra_shared=[_core_fragment(settings, faces)])
    install_openapi(app, faces)
    if settings.docs_enabled:
        install_docs(app)
    app.include_router(metrics_router(settings.metrics_token))
    app.include_router(health_router(ctx))
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(405, method_not_allowed)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Inside the request context (preflights get an id and a log line), outside the body
    # limit and every route, so that preflights and error answers get CORS headers too.
    app.add_middleware(CorsMiddleware, origins=allowed_origins(settings))
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log)
    if settings.trusted_proxies:
        # Outermost: everything inside (rate limits, cookies, logs) sees the real client.
        app.add_middleware(TrustedProxyMiddleware, trusted=settings.trusted_proxies)
    redirect_slashes_relatively(app.router)
    index_routes(app.router)
    return app


async def _close_context(ctx: AppContext) -> None:
    """Finish the replies and jobs in flight, then close every connection the app holds."""
    await ctx.replies.drain()
    await ctx.job_runtime.stop()
    await ctx.bus.aclose()
    await ctx.limiter.aclose()
    await ctx.recorder.aclose()
    await ctx.providers.factory.aclose()
    await ctx.engine.dispose()


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (used by `switchboard serve --workers N`)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


async def _end_replies_on_drain(ctx: AppContext, draining: Draining) -> None:
    """On SIGTERM, end every reply in flight now (stored `partial`, reason
    `server_shutdown`; each stream sends its error event), within the grace period."""
    await draining.wait()
    count = ctx.replies.interrupt_all()
    log.info("draining", replies_interrupted=count)


def _runs_jobs(settings: Settings) -> bool:
    # Without Redis the server is the only place jobs can run; with Redis, workers do.
    if settings.jobs_in_process == "auto":
        return settings.redis_url is None
    return settings.jobs_in_process == "on"


def _core_fragment(settings: Settings, faces: list[EnabledFace]) -> Contribution:
    """switchboard's own fields of `GET /`: what it is and which faces are mounted."""
    docs = "/docs" if settings.docs_enabled else None
    body: dict[str, object] = {
        "name": "switchboard",
        "version": __version__,
        "docs": docs,
        "faces": [face.spec.name for face in faces],
    }

    async def fields(*_: object) -> dict[str, object]:
        return body

    keys = frozenset(body)
    return "switchboard-core", _render_generic, SharedFragment("/", keys, fields, owns=keys)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # A bug: log it whole, tell the client only that it happened, in the face's shape.
    # (A database outage met after the route answered, at commit, is a 503 instead.)
    request_id = request.scope.get("state", {}).get("request_id")
    info = unexpected_error_info(exc)
    if info is INTERNAL_ERROR:
        log.exception("unhandled_error", path=request.url.path, exc_info=exc)
    else:
        log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
    render = face_renderer(request)
    if render is not None:
        response = render(request, info)
    else:
        response = JSONResponse(
            _generic_error(request_id, info),
            status_code=status_of(info),
            headers=error_headers(info),
        )
    # This response leaves through Starlette's outermost layer, past our middleware.
    if request_id:
        response.headers["X-Request-ID"] = request_id
    response.headers.update(cors_error_headers(request.scope))
    return response


def _render_generic(request: Request, info: ErrorInfo) -> Response:
    request_id = request.scope.get("state", {}).get("request_id")
    return JSONResponse(_generic_error(request_id, info), status_code=status_of(info))


def _generic_error(request_id: str | None, info: ErrorInfo = INTERNAL_ERROR) -> dict[str, object]:
    error_type = "server_error" if status_of(info) >= 500 else "invalid_request_error"
    return {
        "error": {
            "message": info.message,
            "type": error_type,
            "code": info.code,
            "request_id": request_id,
        }
    }
