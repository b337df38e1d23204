"""Faces as registered parts.

A face exports one `FaceSpec`: its routers, error renderer, authentication chain,
contributions to shared paths, its dialect on the shared Socket.IO server, ASGI mounts,
WebSocket routes and lifespan hooks. The composition root mounts the enabled faces by
looping over one table; nothing there names a face. `mount_faces` refuses, at start-up,
a face route that declares no admission (default deny) and two faces that set one shared
key differently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from switchboard.api.admission import admission_of
from switchboard.api.auth import AuthChain
from switchboard.api.errors import ErrorRenderer
from switchboard.api.realtime.socketio import SocketIODialect, SocketIOHub
from switchboard.api.shared_paths import Contribution, SharedFragment, mount_shared_paths
from switchboard.core.container import AppContext

OptionsT = TypeVar("OptionsT")

SOCKETIO_PATH = "/socket.io"
# How often each socket's credential is checked again (within Socket.IO's own 25 s
# heartbeat): a revoked or expired one gets `stream.closed` and is disconnected.
SOCKETIO_RECHECK_SECONDS = 15.0

Lifespan = Callable[[AppContext], AbstractAsyncContextManager[None]]
"""Work that lives as long as the app (started before serving, stopped after)."""


@dataclass(frozen=True, slots=True)
class Mounted:
    """A mounted ASGI app that holds resources: `close` runs when the app stops."""

    app: ASGIApp
    close: Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Mount:
    """An ASGI app mounted at a path (Socket.IO), built once the context exists."""

    path: str
    build: Callable[[AppContext, Any], ASGIApp | Mounted]


@dataclass(frozen=True, slots=True)
class SocketRoute:
    """One WebSocket handler, served at every path in `paths`."""

    paths: tuple[str, ...]
    endpoint: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class FaceSpec:
    """Everything the app needs to serve one face."""

    name: str
    routers: Sequence[APIRouter]
    render_error: ErrorRenderer
    auth: AuthChain
    # The options type its routes ask for with `face_options(...)`; None: it takes none.
    options_type: type | None = None
    shared: Sequence[SharedFragment] = ()
    mounts: Sequence[Mount] = ()
    websockets: Sequence[SocketRoute] = ()
    lifespans: Sequence[Lifespan] = ()
    # Its dialect on the one Socket.IO server at SOCKETIO_PATH, built once the context
    # exists (from the context and the face's options).
    socketio: Callable[[AppContext, Any], SocketIODialect] | None = None
    # Routes that exist only when an option says so (e.g. a legacy docs alias).
    optional_routers: Callable[[Any], Sequence[APIRouter]] = field(default=lambda _: ())


@dataclass(frozen=True, slots=True)
class EnabledFace:
    """A face the operator enabled, with the options the composition root built for it."""

    spec: FaceSpec
    options: Any = None


class FaceMountError(RuntimeError):
    """The faces cannot be served together as declared (raised at start-up)."""


def face_options(options_type: type[OptionsT]) -> Callable[[Request], Awaitable[OptionsT]]:
    """A dependency returning the options the composition root gave the face."""

    async def options(request: Request) -> OptionsT:
        found: OptionsT = request.app.state.face_options[options_type]
        return found

    return options


def mount_faces(
    app: FastAPI,
    ctx: AppContext,
    faces: Sequence[EnabledFace],
    *,
    extra_shared: Sequence[Contribution] = (),
) -> list[Lifespan]:
    """Serve `faces` on `app`; returns their lifespan hooks, in order.

    `extra_shared` are the composition root's own parts of shared paths.
    """
    app.state.face_options = {
        face.spec.options_type: face.options for face in faces if face.spec.options_type
    }
    lifespans: list[Lifespan] = []
    for face in faces:
        spec = face.spec
        for router in (*spec.routers, *spec.optional_routers(face.options)):
            _check_admission(spec.name, router, ctx)
            app.include_router(router)
        for socket in spec.websockets:
            for path in socket.paths:
                app.add_api_websocket_route(path, socket.endpoint)
        for mount in spec.mounts:
            built = mount.build(ctx, face.options)
            if isinstance(built, Mounted):
                app.mount(mount.path, built.app)
                lifespans.append(_closing(built.close))
            else:
                app.mount(mount.path, built)
        lifespans.extend(spec.lifespans)
    lifespans.extend(_mount_socketio(app, ctx, faces))
    fragments = [
        *extra_shared,
        *(
            (face.spec.name, face.spec.render_error, fragment)
            for face in faces
            for fragment in face.spec.shared
        ),
    ]
    try:
        mount_shared_paths(app, fragments)
    except ValueError as exc:
        raise FaceMountError(str(exc)) from None
    return lifespans


def _mount_socketio(app: FastAPI, ctx: AppContext, faces: Sequence[EnabledFace]) -> list[Lifespan]:
    """One Socket.IO server for every face that speaks on it; its close as a lifespan."""
    dialects = [
        face.spec.socketio(ctx, face.options) for face in faces if face.spec.socketio is not None
    ]
    if not dialects:
        return []
    hub = SocketIOHub(
        ctx.bus,
        ctx.topics,
        dialects,
        redis_url=ctx.options.redis_url,
        recheck_seconds=SOCKETIO_RECHECK_SECONDS,
    )
    # Mounted at the path, the hub sees the full path (Starlette keeps it and sets
    # root_path), so its own `socket.io` prefix makes the URL `/socket.io/`.
    app.mount(SOCKETIO_PATH, hub.asgi_app(socketio_path=SOCKETIO_PATH.strip("/")))
    return [_closing(hub.aclose)]


def _closing(close: Callable[[], Awaitable[None]]) -> Lifespan:
    @asynccontextmanager
    async def lifespan(_: AppContext) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await close()

    return lifespan


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute in `routes`, looking inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's lazy include
        if included is not None:
            yield from api_routes(included.routes)


def _check_admission(face: str, router: APIRouter, ctx: AppContext) -> None:
    for route in api_routes(router.routes):
        where = f"face {face!r}: {sorted(route.methods or ())} {route.path}"
        admission = admission_of(route)
        if admission is None:
            raise FaceMountError(
                f"{where} declares no admission; "
                "add dependencies=[Admit(...)] to its router or route"
            )
        try:
            admission.rate(ctx)
        except KeyError:
            # Found now rather than as a 500 on every request to the route.
            raise FaceMountError(
                f"{where} counts against an unknown rate {admission.rule!r}"
            ) from None
