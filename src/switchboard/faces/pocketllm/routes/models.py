"""`/v1/models*`: the live catalog (PocketLLM's part of the shared `GET /v1/models`) and
the models saved into the caller's workspace."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from switchboard.api.context import ServicesDep
from switchboard.api.openapi import raises
from switchboard.api.shared_paths import SharedFragment
from switchboard.core.accounts.principal import Principal
from switchboard.core.catalog.saved import ModelSelection
from switchboard.core.container import Services
from switchboard.core.errors import ErrorKind, Invalid, NotFound, Unauthenticated
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.auth import AUTH, PrincipalDep
from switchboard.faces.pocketllm.catalog import CATALOG_KEYS, ModelFilters, catalog_fields
from switchboard.faces.pocketllm.envelope import bare, ok
from switchboard.faces.pocketllm.routes.common import admit, v1_router

router = v1_router(admit("models"))


async def catalog_fragment(
    request: Request, services: Services, principal: Principal | None
) -> dict[str, Any]:
    """PocketLLM's fields of `GET /v1/models`: live models from every configured provider."""
    if principal is None:
        raise Unauthenticated("Missing bearer token", code="missing_credentials")
    filters = _filters(request)
    only = None
    if filters.provider is not None:
        only = filters.provider.lower()
        if only not in schemas.SUPPORTED_PROVIDERS:
            raise Invalid(
                f"must be one of: {', '.join(schemas.SUPPORTED_PROVIDERS)}", param="provider"
            )
    return await catalog_fields(services, principal.user_id, only, filters)


# The OpenAI face answers the same path with `object` and `data`.
CATALOG = SharedFragment("/v1/models", CATALOG_KEYS, catalog_fragment, chain=AUTH, scope="models")


@router.get("/models/saved", response_model=None)
async def saved_models(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The models the caller imported (bare list)."""
    rows = await services.saved_models.list_models(principal.user_id)
    return bare([translate.saved_model(r) for r in rows])


@router.post(
    "/models/import",
    status_code=201,
    response_model=None,
    openapi_extra=raises(ErrorKind.NOT_FOUND),
)
async def import_models(
    body: schemas.ImportModels,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Save provider models into the caller's workspace."""
    owner = principal.user_id
    connection_id = None
    if body.provider_id is not None:
        connections = await services.providers.list_connections(owner)
        if not any(c.id == body.provider_id and c.provider == body.provider for c in connections):
            raise NotFound("Provider not found", param="providerId")
        connection_id = body.provider_id
    # Kept in the document's own words (camelCase): only this face reads them back.
    settings = (
        body.shared_settings.model_dump(by_alias=True, exclude_none=True)
        if body.shared_settings
        else {}
    )
    rows = await services.saved_models.import_models(
        owner,
        body.provider,
        [
            ModelSelection(model=s.id, name=s.name, description=s.description)
            for s in body.selections
        ],
        settings=settings,
        connection_id=connection_id,
    )
    return ok(request, [translate.saved_model(r) for r in rows], 201)


@router.get("/models/{model_id}", response_model=None)
async def get_saved_model(
    model_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """One saved model."""
    row = await services.saved_models.get(principal.user_id, model_id)
    return ok(request, translate.saved_model(row))


@router.delete("/models/{model_id}", response_model=None)
async def delete_saved_model(
    model_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Remove a saved model; a new default is chosen when it was the default."""
    await services.saved_models.delete(principal.user_id, model_id)
    return ok(request, {"message": "Model deleted successfully"})


@router.post("/models/{model_id}/default", response_model=None)
async def set_default(
    model_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Make this the workspace default (the only one)."""
    row = await services.saved_models.set_default(principal.user_id, model_id)
    return ok(request, translate.saved_model(row))


def _filters(request: Request) -> ModelFilters:
    """The catalog filters of the query string; 400 naming the parameter when one is bad."""
    try:
        return ModelFilters.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
