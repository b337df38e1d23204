"""Provider settings: one key per provider, masked, stored encrypted.

A provider's settings are the caller's default connection to it (the one every face
uses when nothing else is chosen): the key encrypted and bound to its URL's origin, the
default model and the last test's outcome kept with the connection. Keys come back only
as their preview (`sk-...7890`). Holding keys, these routes take signed-in sessions only
(no API key scope reaches them), like key management on every face.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import Response

from switchboard.api.context import ServicesDep
from switchboard.api.openapi import raises
from switchboard.core.container import Services
from switchboard.core.errors import (
    ErrorKind,
    Invalid,
    NotFound,
    Timeout,
    UpstreamRejected,
    UpstreamUnavailable,
)
from switchboard.core.providers.known import KNOWN_PROVIDERS
from switchboard.core.providers.schemas import ConnectionRead, ConnectionUpdate
from switchboard.faces.spoonfeeder import settings_schemas as schemas
from switchboard.faces.spoonfeeder.auth import PrincipalDep, acts_as_operator
from switchboard.faces.spoonfeeder.envelope import done, ok
from switchboard.faces.spoonfeeder.routes.common import admit, api_router

router = api_router(admit(None))


@router.get("/settings", response_model=None)
async def list_settings(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The caller's settings of every provider they saved one for."""
    connections = await services.providers.list_connections(principal.user_id)
    return ok(
        [
            schemas.settings_body(c)
            for c in connections
            if c.label == "default" and c.is_active and c.provider in schemas.PROVIDERS.values()
        ]
    )


@router.get("/settings/{provider}", response_model=None)
async def get_settings(
    provider: schemas.ProviderName, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """One provider's settings; 404 when nothing is saved for it."""
    connection = await _saved(services, principal.user_id, provider)
    return ok(schemas.settings_body(connection))


@router.put("/settings/{provider}", response_model=None, openapi_extra=raises(ErrorKind.INVALID))
async def put_settings(
    provider: schemas.ProviderName,
    body: schemas.SettingsUpdate,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Save the provider's key (encrypted), endpoint URL and default model; saving
    forgets the last test's outcome."""
    name = schemas.provider_name(provider)
    if body.api_key is None and KNOWN_PROVIDERS[name].needs_key:
        raise Invalid("apiKey is required", param="apiKey")
    await services.providers.save_connection(
        principal.user_id,
        name,
        api_key=body.api_key,
        base_url=body.endpoint_url,
        settings={
            schemas.DEFAULT_MODEL: body.default_model,
            schemas.LAST_TESTED: None,
            schemas.TEST_STATUS: None,
            schemas.TEST_ERROR: None,
        },
        # The owner on this machine reaches their own servers on localhost.
        allow_private=acts_as_operator(principal),
    )
    return done(f"Settings for {provider} updated")


@router.delete("/settings/{provider}", response_model=None)
async def delete_settings(
    provider: schemas.ProviderName, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Forget the provider's settings: the connection is switched off and its key erased."""
    connection = await _saved(services, principal.user_id, provider)
    await services.providers.deactivate_connection(principal.user_id, connection.provider)
    return done(f"Settings for {provider} deleted")


@router.post("/settings/{provider}/test", response_model=None)
async def test_settings(
    provider: schemas.ProviderName, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Call the provider with the saved settings: `{connected, message, latency, model}`,
    or `{connected: false, message, error}` when it fails; the outcome is kept."""
    owner = principal.user_id
    connection = await _saved(services, owner, provider)
    started = time.perf_counter()
    error: str | None = None
    try:
        await services.providers.test_connection(owner, connection.provider)
    except (UpstreamUnavailable, UpstreamRejected, Timeout, Invalid) as exc:
        # Invalid: the saved address is one the outbound policy refuses now.
        error = exc.message
    latency = round((time.perf_counter() - started) * 1000)
    await _keep_outcome(services, owner, connection.provider, error)
    return ok(_outcome(connection, error, latency))


def _outcome(connection: ConnectionRead, error: str | None, latency: int) -> dict[str, Any]:
    label = schemas.wire_name(connection.provider)
    if error is not None:
        return {"connected": False, "message": f"Cannot connect to {label}", "error": error}
    return {
        "connected": True,
        "message": f"Connected to {label}",
        "latency": latency,
        "model": connection.settings.get(schemas.DEFAULT_MODEL),
    }


async def _keep_outcome(services: Services, owner: str, provider: str, error: str | None) -> None:
    outcome = {
        schemas.LAST_TESTED: schemas.iso(datetime.now(UTC)),
        schemas.TEST_STATUS: "error" if error else "connected",
        schemas.TEST_ERROR: error,
    }
    await services.providers.update_connection(owner, provider, ConnectionUpdate(settings=outcome))


async def _saved(services: Services, owner: str, provider: schemas.ProviderName) -> ConnectionRead:
    """The caller's saved settings of `provider`; 404 when there are none (or were deleted)."""
    name = schemas.provider_name(provider)
    connection = await services.providers.get_connection(owner, name)
    if connection is None or not connection.is_active:
        raise NotFound(f"No settings saved for {provider}")
    return connection
