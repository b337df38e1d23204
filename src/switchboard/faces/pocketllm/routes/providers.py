"""`/v1/providers*`: the caller's provider credentials and one provider's live catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response

from switchboard.api.context import ServicesDep
from switchboard.api.openapi import UPSTREAM, raises
from switchboard.core.errors import Invalid, UpstreamRejected
from switchboard.core.providers.schemas import ConnectionUpdate
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.auth import PrincipalDep
from switchboard.faces.pocketllm.catalog import ModelFilters, catalog_fields
from switchboard.faces.pocketllm.envelope import bare, ok
from switchboard.faces.pocketllm.routes.common import admit, v1_router

ProviderPath = Annotated[schemas.ProviderName, Path()]
# Reading needs the `models` scope; changing credentials needs a signed-in session.
READ = [admit("models")]
CHANGE = [admit()]

router = v1_router()


@router.get("/providers", response_model=None, dependencies=READ)
async def list_providers(
    request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """The caller's provider configurations (keys only as masked previews)."""
    connections = await services.providers.list_connections(principal.user_id)
    return ok(request, [translate.provider(c) for c in connections if c.label == "default"])


@router.post(
    "/providers/activate",
    response_model=None,
    dependencies=CHANGE,
    openapi_extra=raises(UPSTREAM),
)
async def activate(
    body: schemas.Activate, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Test the key live, then store it encrypted (bound to its origin) with a preview."""
    owner = principal.user_id
    if body.api_key is None and body.provider != "ollama":
        raise Invalid("An API key is required for this provider", param="apiKey")
    try:
        connection = await services.providers.save_connection(
            owner,
            body.provider,
            api_key=body.api_key,
            base_url=body.base_url,
            display_name=body.display_name,
            # The client's own data; reserved keys (trust) are refused before any call.
            settings=body.metadata,
            test=True,
        )
    except UpstreamRejected as exc:
        # The provider refused the credential being activated: the client's to fix.
        raise Invalid(f"The provider refused this key: {exc.message}", param="apiKey") from None
    return ok(request, translate.provider(connection))


@router.patch(
    "/providers/{provider}",
    response_model=None,
    dependencies=CHANGE,
    openapi_extra=raises(UPSTREAM),
)
async def patch_provider(
    provider: ProviderPath,
    body: schemas.ProviderPatch,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Change any subset; `apiKey: null` removes the key; a new `baseUrl` needs the key."""
    sent = body.model_fields_set
    change = ConnectionUpdate(
        api_key=body.api_key,
        clear_key="api_key" in sent and body.api_key is None,
        base_url=body.base_url,
        base_url_set="base_url" in sent,
        is_active=body.is_active,
        display_name=body.display_name,
        settings=body.metadata,
    )
    connection = await services.providers.update_connection(principal.user_id, provider, change)
    return ok(request, translate.provider(connection))


@router.delete("/providers/{provider}", response_model=None, dependencies=CHANGE)
async def delete_provider(
    provider: ProviderPath, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Mark the provider inactive and erase its key material."""
    await services.providers.deactivate_connection(principal.user_id, provider)
    return ok(request, {"message": "Provider deactivated successfully", "provider": provider})


@router.get(
    "/providers/{provider}/models",
    response_model=None,
    dependencies=READ,
    openapi_extra=raises(UPSTREAM),
)
async def provider_models(
    provider: ProviderPath, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """One provider's live catalog, shaped like PocketLLM's `GET /v1/models` (bare)."""
    return bare(await catalog_fields(services, principal.user_id, provider, ModelFilters()))
