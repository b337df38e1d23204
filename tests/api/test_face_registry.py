"""The face registry (api.faces, registry.py): what `mount_faces` refuses at start-up, what it
serves, and what every face in `registry.FACES` must ship."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request, WebSocket
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from switchboard import app as app_module
from switchboard.api.admission import Admit
from switchboard.api.auth import AuthChain, Bearer
from switchboard.api.faces import (
    EnabledFace,
    FaceMountError,
    FaceSpec,
    Lifespan,
    Mount,
    Mounted,
    SocketRoute,
    api_routes,
    mount_faces,
)
from switchboard.api.shared_paths import SharedFragment
from switchboard.app import create_app
from switchboard.bootstrap import build_context
from switchboard.config import Settings
from switchboard.core.container import AppContext
from switchboard.registry import FACES
from tests.api.apps import plain_router, render_plain, serve
from tests.fixtures.app import Harness

CHAIN = AuthChain(Bearer())
DOCS = Path(__file__).resolve().parents[2] / "docs" / "faces"


def face(name: str, **parts: Any) -> EnabledFace:
    """A face made of `parts` (routers, shared, mounts, websockets, lifespans)."""
    return EnabledFace(
        FaceSpec(name=name, render_error=render_plain, auth=CHAIN, **{"routers": (), **parts})
    )


def fields(**values: Any) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def build(*_: object) -> dict[str, Any]:
        return dict(values)

    return build


def fragment(
    path: str = "/shared", owns: frozenset[str] = frozenset(), **values: Any
) -> SharedFragment:
    return SharedFragment(path, frozenset(values), fields(**values), owns=owns)


# -- admission ------------------------------------------------------------------------------


def test_a_route_without_admission_is_refused(harness: Harness) -> None:
    router = plain_router()

    @router.get("/admitted", dependencies=[Admit(CHAIN, scope="chat")])
    async def admitted() -> None: ...

    @router.post("/forgotten")
    async def forgotten() -> None: ...

    with pytest.raises(
        FaceMountError, match=r"face 'careless': \['POST'\] /forgotten declares no admission"
    ):
        mount_faces(FastAPI(), harness.ctx, [face("careless", routers=[router])])


def test_routes_admitted_by_their_router_are_served(harness: Harness) -> None:
    router = plain_router(dependencies=[Admit(None, rule=None)])

    @router.get("/open")
    async def open_route() -> None: ...

    app = FastAPI()
    mount_faces(app, harness.ctx, [face("careful", routers=[router])])
    assert "/open" in {route.path for route in api_routes(app.routes)}


def test_a_route_counting_on_an_unknown_rate_is_refused(harness: Harness) -> None:
    router = plain_router(dependencies=[Admit(CHAIN, rule="no-such-rule")])

    @router.get("/typo")
    async def typo() -> None: ...

    with pytest.raises(
        FaceMountError, match=r"/typo counts against an unknown rate 'no-such-rule'"
    ):
        mount_faces(FastAPI(), harness.ctx, [face("typo", routers=[router])])


def test_an_optional_router_is_checked_too(harness: Harness) -> None:
    router = plain_router()

    @router.get("/legacy")
    async def legacy() -> None: ...

    spec = face("legacy", optional_routers=lambda options: [router] if options else []).spec
    mount_faces(FastAPI(), harness.ctx, [EnabledFace(spec, options=False)])
    with pytest.raises(FaceMountError, match="/legacy declares no admission"):
        mount_faces(FastAPI(), harness.ctx, [EnabledFace(spec, options=True)])


# -- shared keys ----------------------------------------------------------------------------


def test_two_faces_setting_one_key_need_an_owner(harness: Harness) -> None:
    faces = [face("one", shared=[fragment(name="one")]), face("two", shared=[fragment(name="two")])]
    with pytest.raises(FaceMountError, match=r"GET /shared: faces one, two all set 'name'"):
        mount_faces(FastAPI(), harness.ctx, faces)


def test_two_owners_of_one_key_are_refused(harness: Harness) -> None:
    owned = frozenset({"name"})
    faces = [
        face("one", shared=[fragment(owns=owned, name="one")]),
        face("two", shared=[fragment(owns=owned, name="two")]),
    ]
    with pytest.raises(FaceMountError, match="exactly one of them must declare"):
        mount_faces(FastAPI(), harness.ctx, faces)


async def test_one_owner_of_a_key_is_accepted_and_wins(harness: Harness) -> None:
    faces = [
        face("one", shared=[fragment(name="one", first=1)]),
        face("two", shared=[fragment(owns=frozenset({"name"}), name="two", second=2)]),
    ]
    app = FastAPI()
    app.state.ctx = harness.ctx
    mount_faces(app, harness.ctx, faces)
    async with serve(app) as client:
        assert (await client.get("/shared")).json() == {"name": "two", "first": 1, "second": 2}


def test_the_composition_roots_keys_are_checked_with_the_faces(harness: Harness) -> None:
    core = ("core", render_plain, fragment("/", owns=frozenset({"name"}), name="switchboard"))
    mount_faces(
        FastAPI(), harness.ctx, [face("one", shared=[fragment("/", name="x")])], extra_shared=[core]
    )
    with pytest.raises(FaceMountError, match="GET /: faces core, one"):
        mount_faces(
            FastAPI(),
            harness.ctx,
            [face("one", shared=[fragment("/", owns=frozenset({"name"}), name="x")])],
            extra_shared=[core],
        )


# -- sockets, mounts, lifespans --------------------------------------------------------------


def test_a_socket_route_answers_at_each_of_its_paths(harness: Harness) -> None:
    async def echo_path(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.url.path)
        await websocket.close()

    socket = SocketRoute(("/ws", "/v1/ws", "/legacy/socket"), echo_path)
    app = FastAPI()
    mount_faces(app, harness.ctx, [face("sockets", websockets=[socket])])
    client = TestClient(app)
    for path in socket.paths:
        with client.websocket_connect(path) as websocket:
            assert websocket.receive_text() == path


async def test_a_mount_is_built_on_the_context_and_reachable(harness: Harness) -> None:
    built: list[tuple[AppContext, Any]] = []

    def build(ctx: AppContext, options: Any) -> ASGIApp:
        built.append((ctx, options))

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            request = Request(scope, receive)
            await PlainTextResponse(f"mounted:{request.url.path}")(scope, receive, send)

        return asgi

    spec = face("mounted", mounts=[Mount("/sock", build)]).spec
    app = FastAPI()
    mount_faces(app, harness.ctx, [EnabledFace(spec, options="opts")])
    assert built == [(harness.ctx, "opts")]
    async with serve(app) as client:
        response = await client.get("/sock/anything")
    assert (response.status_code, response.text) == (200, "mounted:/sock/anything")


def hook(name: str, events: list[str], *, fail: bool = False) -> Lifespan:
    @asynccontextmanager
    async def lifespan(ctx: AppContext) -> AsyncIterator[None]:
        assert isinstance(ctx, AppContext)
        events.append(f"start {name}")
        if fail:
            raise RuntimeError(f"{name} cannot start")
        try:
            yield
        finally:
            events.append(f"stop {name}")

    return lifespan


async def run_app_with(
    faces: list[EnabledFace],
    settings_factory: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Start and stop the real app serving `faces`."""
    monkeypatch.setattr(app_module, "enabled_faces", lambda _: faces)
    settings = settings_factory()
    app = create_app(settings, context=build_context(settings))
    async with LifespanManager(app, shutdown_timeout=30):
        pass


async def test_lifespan_hooks_run_in_order_and_are_closed(
    settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    faces = [
        face("a", lifespans=[hook("a1", events), hook("a2", events)]),
        face("b", lifespans=[hook("b1", events)]),
    ]
    await run_app_with(faces, settings_factory, monkeypatch)
    assert events == ["start a1", "start a2", "start b1", "stop b1", "stop a2", "stop a1"]


async def test_hooks_started_before_a_failing_one_are_closed(
    settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    faces = [face("a", lifespans=[hook("a1", events), hook("a2", events, fail=True)])]
    with pytest.raises(RuntimeError, match="a2 cannot start"):
        await run_app_with(faces, settings_factory, monkeypatch)
    assert events == ["start a1", "start a2", "stop a1"]


async def test_a_mount_holding_resources_is_closed_when_the_app_stops(
    settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    async def close() -> None:
        events.append("closed")

    def build(ctx: AppContext, options: Any) -> Mounted:
        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            await PlainTextResponse("mounted")(scope, receive, send)

        return Mounted(asgi, close)

    faces = [face("a", mounts=[Mount("/sock", build)], lifespans=[hook("a1", events)])]
    await run_app_with(faces, settings_factory, monkeypatch)
    # The mount was built before the face's hooks started: it is closed after they stop
    # (and, in the app, before the bus and the database close).
    assert events == ["start a1", "stop a1", "closed"]


# -- every registered face -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FACES))
def test_every_face_is_registered_under_its_own_name(name: str) -> None:
    assert FACES[name][0].name == name


@pytest.mark.parametrize("name", list(FACES))
def test_every_face_is_documented(name: str) -> None:
    document = DOCS / f"{name}.md"
    assert document.is_file(), f"face {name!r} has no docs/faces/{name}.md"
    assert document.read_text().strip()


@pytest.mark.parametrize("name", list(FACES))
async def test_the_openapi_document_has_every_face_path_under_its_tag(
    harness: Harness, name: str
) -> None:
    spec, options = FACES[name]
    routers = [*spec.routers, *spec.optional_routers(options(harness.settings))]
    documented = [
        route
        for router in routers
        for route in api_routes(router.routes)
        if route.include_in_schema
    ]
    assert documented, f"face {name!r} documents no route"
    paths = (await harness.client.get("/openapi.json")).json()["paths"]
    for route in documented:
        # OpenAPI names path parameters without their converters (`{model}`, not `{model:path}`).
        path = route.path_format
        assert path in paths, f"{path} of face {name!r} is not in the OpenAPI document"
        for method in route.methods or ():
            operation = paths[path][method.lower()]
            assert name in operation.get("tags", []), f"{method} {path} is not tagged {name!r}"
