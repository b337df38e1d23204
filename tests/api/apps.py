"""Small apps on a running harness's context, to test api plumbing through real requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response

from switchboard.api.errors import ErrorInfo, error_headers, face_route_class, status_of
from switchboard.api.middleware import RequestContextMiddleware
from switchboard.api.responses import JSONResponse
from switchboard.core.accounts.principal import Principal
from tests.fixtures.app import Harness

LOOPBACK_PEER = ("127.0.0.1", 50000)


def render_plain(request: Request, info: ErrorInfo) -> Response:
    """A face's renderer reduced to the facts: the shared status table, code and message."""
    body = {"error": {"kind": info.kind, "code": info.code, "message": info.message}}
    return JSONResponse(body, status_code=status_of(info), headers=error_headers(info))


def plain_router(**kwargs: Any) -> APIRouter:
    """A router whose errors are rendered by `render_plain`."""
    return APIRouter(route_class=face_route_class(render_plain), **kwargs)


def principal_body(principal: Principal | None) -> dict[str, Any]:
    """What the test routes answer: who the caller turned out to be."""
    if principal is None:
        return {"user_id": None}
    return {
        "user_id": principal.user_id,
        "is_owner": principal.is_owner,
        "auth_method": principal.auth_method,
    }


def small_app(harness: Harness, *routers: APIRouter) -> FastAPI:
    """`routers` on the harness's context, behind the request-context middleware (which
    sends the rate-limit headers)."""
    app = FastAPI()
    app.state.ctx = harness.ctx
    app.state.face_options = {}
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestContextMiddleware, access_log=False)
    return app


@asynccontextmanager
async def serve(
    app: FastAPI,
    *,
    base_url: str = "http://testserver",
    client: tuple[str, int] = LOOPBACK_PEER,
    cookies: dict[str, str] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of `app`, connecting from `client` with `cookies`."""
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url=base_url, cookies=cookies) as http:
        yield http
