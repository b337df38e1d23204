"""Provider profiles and their models.

A profile is one of the caller's provider connections under a label of its own: its key
is stored encrypted, bound to the profile's URL, and shown only masked. The owner under
local trust may point a profile at loopback and private addresses (their own Ollama or
ComfyUI); everyone else's URLs go through the outbound policy.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from switchboard.api.context import ServicesDep
from switchboard.api.openapi import NUL_FREE, PATH_SEGMENT, UPSTREAM, raises
from switchboard.core.errors import ErrorKind
from switchboard.core.profiles.schemas import ProfileChange, ProfileCreate
from switchboard.faces.spoonfeeder import profiles_wire as wire
from switchboard.faces.spoonfeeder.auth import PrincipalDep, acts_as_operator
from switchboard.faces.spoonfeeder.envelope import done, ok
from switchboard.faces.spoonfeeder.routes.common import admit, api_router

# Profiles hold keys: signed-in sessions (or the owner under local trust) only.
router = api_router(admit(None))

ProfileId = Annotated[str, Path(max_length=100, pattern=PATH_SEGMENT)]
# Model names hold `:` and `/` (`llama3:latest`, `library/x`).
ModelId = Annotated[str, Path(min_length=1, max_length=300, pattern=NUL_FREE)]
ProviderFilter = Annotated[wire.ProfileProvider | None, Query()]


@router.get("/profiles", response_model=None, openapi_extra=raises(ErrorKind.INVALID))
async def list_profiles(
    principal: PrincipalDep, services: ServicesDep, provider: ProviderFilter = None
) -> Response:
    """The caller's profiles, oldest first; `?provider=` keeps one provider's."""
    found = await services.profiles.list_profiles(principal.user_id, provider=provider)
    return ok([wire.profile(p) for p in found])


@router.post(
    "/profiles", status_code=201, response_model=None, openapi_extra=raises(ErrorKind.INVALID)
)
async def create_profile(
    body: wire.ProfileIn, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Store a profile (not tested: `POST /profiles/test-connection` does that)."""
    new = ProfileCreate.model_validate(body.model_dump(exclude_none=True))
    created = await services.profiles.create(
        principal.user_id, new, allow_private=acts_as_operator(principal)
    )
    return ok(wire.profile(created), 201)


@router.post(
    "/profiles/test-connection",
    response_model=None,
    openapi_extra=raises(ErrorKind.INVALID),
)
async def test_connection(
    body: wire.ConnectionTestIn, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Call the provider with this key and URL, storing nothing: `{connected: false,
    error}` when it cannot be used."""
    check = await services.profiles.test_connection(
        principal.user_id,
        body.provider,
        api_key=body.api_key,
        url=body.url,
        allow_private=acts_as_operator(principal),
    )
    return ok(wire.connection_check(check))


@router.get("/profiles/{profile_id}", response_model=None)
async def get_profile(
    profile_id: ProfileId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """One of the caller's profiles."""
    return ok(wire.profile(await services.profiles.get(principal.user_id, profile_id)))


@router.put("/profiles/{profile_id}", response_model=None, openapi_extra=raises(ErrorKind.INVALID))
async def update_profile(
    profile_id: ProfileId, body: wire.ProfilePatch, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Change the fields sent; a new URL without a new key drops the stored key."""
    change = ProfileChange.model_validate(body.model_dump(exclude_unset=True))
    updated = await services.profiles.update(
        principal.user_id, profile_id, change, allow_private=acts_as_operator(principal)
    )
    return ok(wire.profile(updated))


@router.delete("/profiles/{profile_id}", response_model=None)
async def delete_profile(
    profile_id: ProfileId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Delete a profile and its key."""
    await services.profiles.delete(principal.user_id, profile_id)
    return done("Profile deleted")


@router.get("/profiles/{profile_id}/models", response_model=None)
async def list_profile_models(
    profile_id: ProfileId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """The models associated with a profile."""
    models = await services.profiles.models(principal.user_id, profile_id)
    return ok([wire.profile_model(profile_id, m) for m in models])


@router.post(
    "/profiles/{profile_id}/models",
    status_code=201,
    response_model=None,
    openapi_extra=raises(ErrorKind.CONFLICT),
)
async def add_profile_model(
    profile_id: ProfileId,
    body: wire.ProfileModelIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Associate a model with a profile; 409 when it already is."""
    model = await services.profiles.add_model(
        principal.user_id, profile_id, body.model_id, body.name
    )
    return ok(wire.profile_model(profile_id, model), 201)


@router.post(
    "/profiles/{profile_id}/models/sync",
    response_model=None,
    openapi_extra=raises(ErrorKind.INVALID, UPSTREAM),
)
async def sync_profile_models(
    profile_id: ProfileId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Make the profile's models the provider's current list (added/removed counts)."""
    sync = await services.profiles.sync_models(principal.user_id, profile_id)
    return ok(wire.model_sync(sync))


@router.delete("/profiles/{profile_id}/models/{model_id:path}", response_model=None)
async def remove_profile_model(
    profile_id: ProfileId, model_id: ModelId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Remove a model (by its entry's id or its model id) from a profile."""
    await services.profiles.remove_model(principal.user_id, profile_id, model_id)
    return done("Model removed from profile")
