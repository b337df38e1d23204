"""`/v1/users/profile*`: the caller's own account, for signed-in sessions only."""

from __future__ import annotations

from fastapi import Request, Response

from switchboard.api.context import ServicesDep
from switchboard.api.openapi import raises
from switchboard.core.accounts.schemas import UserUpdate
from switchboard.core.errors import ErrorKind
from switchboard.faces.pocketllm import schemas, translate
from switchboard.faces.pocketllm.auth import PrincipalDep
from switchboard.faces.pocketllm.envelope import ok
from switchboard.faces.pocketllm.routes.common import admit, v1_router

router = v1_router(admit())


@router.get("/users/profile", response_model=None)
async def get_profile(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    """The caller's profile."""
    return ok(request, translate.profile(await services.accounts.get_user(principal.user_id)))


@router.put("/users/profile", response_model=None, openapi_extra=raises(ErrorKind.CONFLICT))
async def put_profile(
    body: schemas.ProfileUpdate,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Change the fields that are sent."""
    change = UserUpdate.model_validate(body.model_dump(exclude_unset=True))
    user = await services.accounts.update_profile(principal.user_id, change)
    return ok(request, translate.profile(user))


@router.post(
    "/users/profile/onboarding", response_model=None, openapi_extra=raises(ErrorKind.CONFLICT)
)
async def onboarding(
    body: schemas.Onboarding,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Store the onboarding answers and mark the survey completed."""
    fields = body.model_dump(exclude_unset=True)
    fields["survey_completed"] = True
    user = await services.accounts.update_profile(
        principal.user_id, UserUpdate.model_validate(fields)
    )
    return ok(request, translate.profile(user))


@router.delete("/users/profile", response_model=None)
async def delete_profile(
    request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Delete the account and everything it owns, on every face."""
    await services.delete_account(principal.user_id)
    return ok(request, {"message": "User account deleted successfully"})
