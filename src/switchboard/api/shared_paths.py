"""Paths that several faces answer at once (`GET /`, `GET /v1/models`, `GET /api/health`).

Each face contributes a fragment: the top-level keys it sets and how to compute them.
One route per path merges the enabled faces' fragments, so each face's client finds the
fields it reads in the one response. Two faces setting the same key is refused at
start-up unless exactly one declares that it owns the key (its value is then used).
Errors on a shared path carry every face's error fields too: the faces' error bodies
are merged, the first face's status and headers kept.
"""

# No `from __future__ import annotations`: FastAPI resolves string annotations against the
# module's globals, and the dependencies built below name a chain local to their builder.
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, Response

from switchboard.api.admission import Admit
from switchboard.api.auth import AuthChain
from switchboard.api.context import ServicesDep
from switchboard.api.errors import ErrorInfo, ErrorRenderer, face_route_class
from switchboard.api.responses import JSONResponse
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services

Build = Callable[[Request, Services, Principal | None], Awaitable[dict[str, Any]]]
"""A fragment's fields for one request (the principal is None on public paths)."""


@dataclass(frozen=True, slots=True)
class SharedFragment:
    """One face's part of a shared path."""

    path: str
    keys: frozenset[str]
    build: Build
    owns: frozenset[str] = frozenset()
    # Set when the path needs a caller: who may call it, and the scope an API key needs.
    chain: AuthChain | None = None
    scope: str | None = None


Contribution = tuple[str, ErrorRenderer, SharedFragment]
"""(face name, its error renderer, its fragment)."""


def mount_shared_paths(app: FastAPI, contributions: Sequence[Contribution]) -> None:
    """One GET route per shared path; ValueError when two faces collide on a key."""
    by_path: dict[str, list[Contribution]] = defaultdict(list)
    for contribution in contributions:
        by_path[contribution[2].path].append(contribution)
    for path, parts in by_path.items():
        _check_keys(path, parts)
        app.include_router(_router(path, parts))


def merged_renderer(renderers: Sequence[ErrorRenderer]) -> ErrorRenderer:
    """An error renderer whose body carries every renderer's fields (first one's status)."""

    def render(request: Request, info: ErrorInfo) -> Response:
        responses = [r(request, info) for r in renderers]
        body: dict[str, Any] = {}
        for response in reversed(responses):
            body = _deep_merge(body, orjson.loads(bytes(response.body)))
        first = responses[0]
        headers = {k: v for k, v in first.headers.items() if k.lower() != "content-length"}
        return JSONResponse(body, status_code=first.status_code, headers=headers)

    return render


def _router(path: str, parts: Sequence[Contribution]) -> APIRouter:
    render = parts[0][1] if len(parts) == 1 else merged_renderer([p[1] for p in parts])
    router = APIRouter(tags=["shared"], route_class=face_route_class(render))
    fragments = [p[2] for p in parts]
    owners = {key: f for f in fragments for key in f.owns}
    chain, scope = _guard(path, fragments)
    who = chain.require if chain else _nobody

    async def shared(
        request: Request,
        services: ServicesDep,
        principal: Annotated[Principal | None, Depends(who)],
    ) -> Response:
        body: dict[str, Any] = {}
        for fragment in fragments:
            fields = await fragment.build(request, services, principal)
            for key, value in fields.items():
                owner = owners.get(key)
                if owner is None or owner is fragment:
                    body[key] = value
        return JSONResponse(body)

    shared.__name__ = "shared_" + (path.strip("/").replace("/", "_") or "root")
    router.add_api_route(
        path,
        shared,
        methods=["GET"],
        response_model=None,
        include_in_schema=path != "/",
        dependencies=[Admit(chain, scope=scope, rule="default")],
    )
    return router


async def _nobody() -> None:
    return None


def _guard(path: str, fragments: Sequence[SharedFragment]) -> tuple[AuthChain | None, str | None]:
    """The one chain and scope of a path; faces that guard it differently are refused."""
    guarded = [f for f in fragments if f.chain is not None]
    if len({(f.chain.schemes, f.scope) for f in guarded if f.chain is not None}) > 1:
        raise ValueError(f"GET {path}: faces guard it with different credentials or scopes")
    return (guarded[0].chain, guarded[0].scope) if guarded else (None, None)


def _check_keys(path: str, parts: Sequence[Contribution]) -> None:
    setters: dict[str, list[tuple[str, SharedFragment]]] = defaultdict(list)
    for face, _, fragment in parts:
        for key in fragment.keys:
            setters[key].append((face, fragment))
    for key, faces in setters.items():
        if len(faces) < 2:
            continue
        owners = [face for face, fragment in faces if key in fragment.owns]
        if len(owners) != 1:
            names = ", ".join(face for face, _ in faces)
            raise ValueError(
                f"GET {path}: faces {names} all set {key!r}; exactly one of them must declare "
                f"that it owns the key (SharedFragment.owns)"
            )


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
