"""`/v1/models*` (live catalogs, saved models) and `/v1/providers*` (credentials).

`GET /v1/models` answers PocketLLM and OpenAI clients at once: OpenAI's `object`/`data`
beside PocketLLM's `models`, `message`, `configured_providers`, `missing_providers`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.core.container import Services
from switchboard.core.catalog.saved import ModelSelection
from switchboard.core.errors import Invalid, NotFound, UpstreamRejected
from switchboard.core.llm import ModelInfo
from switchboard.core.providers.schemas import ConnectionUpdate
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.deps import admit, require_session
from switchboard.faces.pocketllm.envelope import bare, ok

ProviderPath = Annotated[schemas.ProviderName, Path()]
NO_MATCH = "No models matched the provided filters."
NO_PROVIDERS = "No providers are configured for this workspace. Add an API key for one of: {}."
NO_MODELS = "No models are currently available from the configured providers."
NOT_CONFIGURED = (
    "Provider '{}' is not configured or is inactive. Activate it with POST /v1/providers/activate."
)


def register(router: APIRouter) -> None:
    """Add the model and provider routes."""
    _register_saved(router)
    _register_providers(router)

    @router.get("/models", response_model=None)
    async def list_models(
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
        provider: Annotated[str | None, Query(max_length=64)] = None,
        name: Annotated[str | None, Query(max_length=200)] = None,
        model_id: Annotated[str | None, Query(alias="modelId", max_length=300)] = None,
        query: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        """Live models from every configured provider (bare, as the document shows)."""
        await admit(request, services, principal, "models")
        if provider is not None and provider.lower() not in schemas.SUPPORTED_PROVIDERS:
            raise Invalid(
                f"must be one of: {', '.join(schemas.SUPPORTED_PROVIDERS)}", param="provider"
            )
        only = provider.lower() if provider else None
        body = await _catalog(services, principal.user_id, only, name, model_id, query)
        filtered = any(v for v in (name, model_id, query, provider))
        catalog_models = body.pop("_all")
        data = [translate.openai_model(f"{m.provider}/{m.id}", m.provider) for m in catalog_models]
        if not filtered:
            data += [
                translate.openai_model(alias, "switchboard")
                for alias in services.ctx.resolver.aliases
            ]
        return bare({"object": "list", "data": data, **body})


def _register_saved(router: APIRouter) -> None:
    """Add the saved model routes."""

    @router.get("/models/saved", response_model=None)
    async def saved_models(
        request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """The models the caller imported (bare list)."""
        await admit(request, services, principal, "models")
        rows = await services.saved_models.list_models(principal.user_id)
        return bare([translate.saved_model(r) for r in rows])

    @router.post("/models/import", status_code=201, response_model=None)
    async def import_models(
        body: schemas.ImportModels,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Response:
        """Save provider models into the caller's workspace."""
        await admit(request, services, principal, "models")
        owner = principal.user_id
        connection_id = None
        if body.provider_id is not None:
            connections = await services.providers.list_connections(owner)
            if not any(
                c.id == body.provider_id and c.provider == body.provider for c in connections
            ):
                raise NotFound("Provider not found", param="providerId")
            connection_id = body.provider_id
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
        await admit(request, services, principal, "models")
        row = await services.saved_models.get(principal.user_id, model_id)
        return ok(request, translate.saved_model(row))

    @router.delete("/models/{model_id}", response_model=None)
    async def delete_saved_model(
        model_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Remove a saved model; a new default is chosen when it was the default."""
        await admit(request, services, principal, "models")
        await services.saved_models.delete(principal.user_id, model_id)
        return ok(request, {"message": "Model deleted successfully"})

    @router.post("/models/{model_id}/default", response_model=None)
    async def set_default(
        model_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Make this the workspace default (the only one)."""
        await admit(request, services, principal, "models")
        row = await services.saved_models.set_default(principal.user_id, model_id)
        return ok(request, translate.saved_model(row))


def _register_providers(router: APIRouter) -> None:
    """Add the provider routes."""

    @router.get("/providers", response_model=None)
    async def list_providers(
        request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """The caller's provider configurations (keys only as masked previews)."""
        await admit(request, services, principal, "models")
        connections = await services.providers.list_connections(principal.user_id)
        return ok(request, [translate.provider(c) for c in connections if c.label == "default"])

    @router.post("/providers/activate", response_model=None)
    async def activate(
        body: schemas.Activate, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Test the key live, then store it encrypted (bound to its origin) with a preview."""
        await admit(request, services, principal)
        require_session(principal)
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
                test=True,
            )
        except UpstreamRejected as exc:
            # The provider refused the credential being activated: the client's to fix.
            raise Invalid(f"The provider refused this key: {exc.message}", param="apiKey") from None
        if body.metadata is not None:
            connection = await services.providers.update_connection(
                owner, body.provider, ConnectionUpdate(settings=body.metadata)
            )
        services.ctx.catalogs.forget_user(owner)
        return ok(request, translate.provider(connection))

    @router.patch("/providers/{provider}", response_model=None)
    async def patch_provider(
        provider: ProviderPath,
        body: schemas.ProviderPatch,
        request: Request,
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Response:
        """Change any subset; `apiKey: null` removes the key; a new `baseUrl` needs the key."""
        await admit(request, services, principal)
        require_session(principal)
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
        services.ctx.catalogs.forget_user(principal.user_id)
        return ok(request, translate.provider(connection))

    @router.delete("/providers/{provider}", response_model=None)
    async def delete_provider(
        provider: ProviderPath, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Mark the provider inactive and erase its key material."""
        await admit(request, services, principal)
        require_session(principal)
        await services.providers.deactivate_connection(principal.user_id, provider)
        services.ctx.catalogs.forget_user(principal.user_id)
        return ok(request, {"message": "Provider deactivated successfully", "provider": provider})

    @router.get("/providers/{provider}/models", response_model=None)
    async def provider_models(
        provider: ProviderPath, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """One provider's live catalog, shaped like `GET /v1/models` (bare)."""
        await admit(request, services, principal, "models")
        body = await _catalog(services, principal.user_id, provider, None, None, None)
        body.pop("_all")
        return bare(body)


async def _catalog(
    services: Services,
    owner: str,
    only: str | None,
    name: str | None,
    model_id: str | None,
    query: str | None,
) -> dict[str, Any]:
    """PocketLLM's catalog fields (and, under `_all`, every matching model for OpenAI)."""
    catalog = await services.catalog.models(owner, only=only)
    configured = [p for p in catalog.configured if p in schemas.SUPPORTED_PROVIDERS]
    matching = [m for m in catalog.models if _matches(m, name, model_id, query)]
    models = [m for m in matching if m.provider in schemas.SUPPORTED_PROVIDERS]
    message = None
    if only is not None and only not in configured:
        message = NOT_CONFIGURED.format(only)
    elif not configured:
        message = NO_PROVIDERS.format(", ".join(schemas.SUPPORTED_PROVIDERS))
    elif (
        not models
        and any((name, model_id, query))
        and any(m.provider in schemas.SUPPORTED_PROVIDERS for m in catalog.models)
    ):
        message = NO_MATCH
    elif not models:
        message = NO_MODELS
    if only is not None:
        configured = [p for p in configured if p == only]
        missing = [] if configured else [only]
    else:
        missing = [p for p in schemas.SUPPORTED_PROVIDERS if p not in configured]
    return {
        "models": [translate.catalog_model(m) for m in models],
        "message": message,
        "configured_providers": configured,
        "missing_providers": missing,
        "_all": matching if only is None else [m for m in matching if m.provider == only],
    }


def _matches(model: ModelInfo, name: str | None, model_id: str | None, query: str | None) -> bool:
    """The original's filters: case-insensitive substrings, all of them (AND)."""
    if name and name.lower() not in (model.name or model.id).lower():
        return False
    if model_id and model_id.lower() not in model.id.lower():
        return False
    if query:
        haystack = " ".join(
            (model.id, model.name or "", model.description or "", str(model.metadata))
        ).lower()
        if query.lower() not in haystack:
            return False
    return True
