"""Routes of the OpenAI-compatible face."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request, Response

from switchboard.api.auth import PrincipalDep, require_principal, require_scope
from switchboard.api.context import ServicesDep, request_services
from switchboard.core.container import Services
from switchboard.api.errors import face_route_class
from switchboard.api.responses import JSONResponse, StreamingResponse
from switchboard.core.accounts.principal import Principal
from switchboard.core.conversations.completions import Caller
from switchboard.faces.openai import schemas, translate
from switchboard.faces.openai.errors import render_error

SOURCE = "openai"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def build_router(*, include_models: bool = True) -> APIRouter:
    """The face's routes; `include_models` is off when another face answers `/v1/models`."""
    router = APIRouter(prefix="/v1", tags=["openai"], route_class=face_route_class(render_error))
    # The two gateway routes carry most of the traffic: they are lean routes (their body
    # parsed in one pass, see `api.bodies`) and open their unit of work themselves
    # rather than through dependencies (see `request_services`).
    lean_route = face_route_class(render_error, lean=True)

    async def chat_completions(body: schemas.ChatCompletionRequest, request: Request) -> Response:
        """Create a chat completion, blocking or streamed (OpenAI's wire format)."""
        async with _gateway_call(request, "chat") as (services, principal):
            core_request = translate.chat_request(body)
            caller = _caller(principal)
            if body.stream:
                _, events = await services.completions.stream(caller, core_request)
                include_usage = bool(body.stream_options and body.stream_options.include_usage)
                chunks = translate.completion_chunks(body.model, events, include_usage)
                return StreamingResponse(
                    chunks, media_type="text/event-stream", headers=STREAM_HEADERS
                )
            _, result = await services.completions.complete(caller, core_request)
        return JSONResponse(translate.completion_body(body.model, result))

    async def embeddings(body: schemas.EmbeddingRequest, request: Request) -> Response:
        """Create embeddings."""
        async with _gateway_call(request, "embeddings") as (services, principal):
            inputs = translate.embedding_inputs(body)
            _, result = await services.completions.embed(_caller(principal), body.model, inputs)
        return JSONResponse(translate.embedding_body(body.model, result, body.encoding_format))

    for path, endpoint in (("/chat/completions", chat_completions), ("/embeddings", embeddings)):
        router.add_api_route(
            path, endpoint, methods=["POST"], response_model=None, route_class_override=lean_route
        )

    if include_models:

        @router.get("/models", response_model=None)
        async def list_models(
            request: Request, principal: PrincipalDep, services: ServicesDep
        ) -> Response:
            """The models this caller can use, as `provider/model` ids."""
            await _admit(request, services, principal, "models")
            return JSONResponse(await models_payload(principal, services))

    @router.get("/models/{provider}/{model:path}", response_model=None)
    async def retrieve_model(
        provider: str, model: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """One model by its `provider/model` id."""
        await _admit(request, services, principal, "models")
        ref = services.completions.resolve(f"{provider}/{model}")
        return JSONResponse(translate.model_object(str(ref), ref.provider))

    return router


async def models_payload(principal: Principal, services: Services) -> dict[str, Any]:
    """OpenAI's `list` of models: live catalogs plus operator aliases."""
    catalog = await services.catalog.models(principal.user_id)
    data = [translate.model_object(f"{m.provider}/{m.id}", m.provider) for m in catalog.models]
    data += [
        translate.model_object(alias, "switchboard") for alias in services.ctx.resolver.aliases
    ]
    return {"object": "list", "data": data}


@asynccontextmanager
async def _gateway_call(request: Request, scope: str) -> AsyncIterator[tuple[Services, Principal]]:
    """A gateway route's unit of work and caller, authenticated and admitted for `scope`."""
    async with request_services(request) as services:
        principal = await require_principal(request, services)
        await _admit(request, services, principal, scope)
        yield services, principal


async def _admit(request: Request, services: Services, principal: Principal, scope: str) -> None:
    require_scope(principal, scope)
    ctx = services.ctx
    await ctx.limiter.check(
        request.scope, ctx.options.rate_limit_default, SOURCE, principal.user_id
    )


def _caller(principal: Principal) -> Caller:
    return Caller(user_id=principal.user_id, source=SOURCE, api_key_id=principal.api_key_id)
