"""Ollama models across the caller's profiles: list, details, load, unload, status.

The Ollama servers are the caller's: their default Ollama connection (or, without one,
the operator's OLLAMA_URL) and every Ollama profile (a labelled connection). One model
route takes `?profileId=` to choose a profile's server instead of the default one.
Model names keep their `:` tags and `/` namespaces: `{name:path}` takes the rest of the
path, and the action routes are declared first so their suffix is not read as part of
a name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, Response

from switchboard.api.context import ServicesDep
from switchboard.api.openapi import UPSTREAM, raises
from switchboard.core.container import Services
from switchboard.core.errors import (
    ErrorKind,
    Invalid,
    NotFound,
    SwitchboardError,
    UpstreamUnavailable,
)
from switchboard.core.providers.errors import ProviderNotConfigured
from switchboard.core.providers.ports import LocalModel, ModelAdministration
from switchboard.faces.spoonfeeder import models_translate as translate
from switchboard.faces.spoonfeeder.auth import PrincipalDep
from switchboard.faces.spoonfeeder.envelope import done, ok
from switchboard.faces.spoonfeeder.routes.common import admit, api_router

OLLAMA = "ollama"
MAX_NAME = 512
ProfileQuery = Annotated[str | None, Query(alias="profileId", max_length=64)]

router = api_router(admit("models"))


@dataclass(frozen=True, slots=True)
class Server:
    """One Ollama server of the caller, and how the listing names it."""

    admin: ModelAdministration
    source: str
    profile_id: str | None


@router.get("/models", response_model=None, openapi_extra=raises(UPSTREAM))
async def list_models(principal: PrincipalDep, services: ServicesDep) -> Response:
    """Installed models of every Ollama server of the caller (one that fails is left out;
    when all fail, 503)."""
    servers = await _servers(services, principal.user_id)
    listings = await asyncio.gather(
        *(server.admin.local_models() for server in servers), return_exceptions=True
    )
    data = []
    failures: list[SwitchboardError] = []
    for server, listing in zip(servers, listings, strict=True):
        if isinstance(listing, SwitchboardError):
            failures.append(listing)
            continue
        if isinstance(listing, BaseException):
            raise listing
        data += [translate.listed_model(m, server.source, server.profile_id) for m in listing]
    if failures and len(failures) == len(servers):
        # Whatever stopped it (down, refused, or an address the outbound policy refuses
        # now), no server of the caller could be asked.
        raise UpstreamUnavailable(f"Cannot connect to Ollama: {failures[0].message}")
    return ok(data)


@router.post(
    "/models/{name:path}/load",
    response_model=None,
    openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM),
)
async def load_model(
    name: str, principal: PrincipalDep, services: ServicesDep, profile_id: ProfileQuery = None
) -> Response:
    """Load the model into the server's memory (for its keep-alive)."""
    admin = await _admin(services, principal.user_id, profile_id)
    await admin.load_model(_checked(name))
    message = f"Model {name} loaded successfully"
    await services.notifications.notify(principal.user_id, message, level="success")
    return done(message)


@router.post(
    "/models/{name:path}/unload",
    response_model=None,
    openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM),
)
async def unload_model(
    name: str, principal: PrincipalDep, services: ServicesDep, profile_id: ProfileQuery = None
) -> Response:
    """Unload the model from the server's memory now."""
    admin = await _admin(services, principal.user_id, profile_id)
    await admin.unload_model(_checked(name))
    message = f"Model {name} unloaded successfully"
    await services.notifications.notify(principal.user_id, message)
    return done(message)


@router.get(
    "/models/{name:path}/status",
    response_model=None,
    openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM),
)
async def model_status(
    name: str, principal: PrincipalDep, services: ServicesDep, profile_id: ProfileQuery = None
) -> Response:
    """Whether the model is loaded, and when it was last used (see `last_used`)."""
    admin = await _admin(services, principal.user_id, profile_id)
    status = await admin.model_status(_checked(name))
    return ok(translate.model_status(status, datetime.now(UTC)))


@router.get(
    "/models/{name:path}",
    response_model=None,
    openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM),
)
async def model_info(
    name: str, principal: PrincipalDep, services: ServicesDep, profile_id: ProfileQuery = None
) -> Response:
    """The model's details and template, with its size and whether it is loaded."""
    admin = await _admin(services, principal.user_id, profile_id)
    details, listing = await asyncio.gather(
        admin.model_details(_checked(name)), admin.local_models()
    )
    return ok(translate.model_info(details, _find(listing, name)))


def _checked(name: str) -> str:
    if not name.strip() or len(name) > MAX_NAME:
        raise Invalid(f"name must be 1 to {MAX_NAME} characters", param="name")
    return name


def _find(listing: list[LocalModel], name: str) -> LocalModel | None:
    wanted = translate.canonical(name)
    return next((m for m in listing if translate.canonical(m.name) == wanted), None)


async def _admin(services: Services, owner: str, profile_id: str | None) -> ModelAdministration:
    """The default Ollama server's administration, or the profile's when one is named
    (a profile of anyone else, or of another provider, is not found)."""
    if profile_id is None:
        return await services.providers.models_admin_for(owner, OLLAMA)
    connection = await services.providers.connection_by_id(owner, profile_id)
    if connection is None or connection.provider != OLLAMA or not connection.is_active:
        raise NotFound(f"Profile {profile_id} not found", param="profileId")
    return await services.providers.models_admin_for(owner, OLLAMA, connection_id=profile_id)


async def _servers(services: Services, owner: str) -> list[Server]:
    """The caller's Ollama servers, each once: the default one (the caller's own Ollama
    connection, else the operator's) and every Ollama profile's."""
    providers = services.providers
    servers: list[Server] = []
    seen: set[str | None] = set()
    try:
        endpoint = await providers.endpoint_for(owner, OLLAMA)
    except ProviderNotConfigured:
        pass
    else:
        own = await providers.get_connection(owner, OLLAMA)
        source = (own.display_name if own and own.is_active else None) or "Ollama"
        servers.append(Server(await providers.models_admin_for(owner, OLLAMA), source, None))
        seen.add(endpoint.base_url)
    for profile in await services.profiles.list_profiles(owner, provider=OLLAMA):
        endpoint = await providers.endpoint_for(owner, OLLAMA, connection_id=profile.id)
        if endpoint.base_url in seen:
            continue
        seen.add(endpoint.base_url)
        admin = await providers.models_admin_for(owner, OLLAMA, connection_id=profile.id)
        servers.append(Server(admin, profile.name, profile.id))
    return servers
