"""Recurring jobs on cron expressions (API keys need the `jobs` scope)."""

from __future__ import annotations

from fastapi import Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.api.openapi import raises
from switchboard.core.errors import ErrorKind
from switchboard.core.jobs.schemas import ScheduleCreate
from switchboard.faces.switchboard.routes import face_router, json
from switchboard.faces.switchboard.routes.jobs import TAKES_PUBLIC_TYPES

router = face_router("jobs")


@router.post("/schedules", status_code=201, openapi_extra=raises(ErrorKind.CONFLICT))
@TAKES_PUBLIC_TYPES
async def create_schedule(
    body: ScheduleCreate, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """A recurring job of a public type on a cron expression."""
    schedule = await services.jobs.create_schedule(principal.user_id, body, source="native")
    return json(schedule.model_dump(mode="json"), 201)


@router.get("/schedules")
async def list_schedules(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The caller's recurring jobs."""
    schedules = await services.jobs.list_schedules(principal.user_id)
    return json({"items": [s.model_dump(mode="json") for s in schedules]})


@router.delete("/schedules/{schedule_id}", status_code=204)
async def delete_schedule(
    schedule_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Stop a recurring job."""
    await services.jobs.delete_schedule(principal.user_id, schedule_id)
    return Response(status_code=204)
