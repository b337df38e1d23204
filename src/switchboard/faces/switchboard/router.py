"""Routes of the native face. Thin: every rule lives in the core services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ContextDep, ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.realtime.sse import event_stream_response
from switchboard.api.responses import JSONResponse
from switchboard.core.events.schemas import user_topic
from switchboard.core.jobs.schemas import JobCreate, JobStatus, ScheduleCreate
from switchboard.faces.switchboard.errors import render_error

PREFIX = "/switchboard/v1"
MAX_TOPICS = 20


def build_router() -> APIRouter:
    """The native face's routes under `/switchboard/v1`."""
    router = APIRouter(
        prefix=PREFIX, tags=["switchboard"], route_class=face_route_class(render_error)
    )
    _job_routes(router)
    _schedule_routes(router)
    _live_routes(router)
    return router


def _job_routes(router: APIRouter) -> None:
    @router.post("/jobs", status_code=201)
    async def create_job(
        body: JobCreate, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Queue background work of a registered type."""
        job = await services.jobs.create(
            principal.user_id, body.model_copy(update={"source": "native"})
        )
        return _json(job.model_dump(mode="json"), 201)

    @router.get("/jobs")
    async def list_jobs(
        principal: PrincipalDep,
        services: ServicesDep,
        status: JobStatus | None = None,
        type: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """The caller's jobs, newest first."""
        page = await services.jobs.list_jobs(
            principal.user_id, status=status, type=type, limit=limit, offset=offset
        )
        return _json(
            {"items": [j.model_dump(mode="json") for j in page.items], "total": page.total}
        )

    @router.get("/jobs/{job_id}")
    async def get_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
        """One of the caller's jobs."""
        return _json((await services.jobs.get(principal.user_id, job_id)).model_dump(mode="json"))

    @router.post("/jobs/{job_id}/cancel")
    async def cancel_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
        """Cancel a pending job, or stop a running one (on whichever process runs it)."""
        job = await services.jobs.cancel(principal.user_id, job_id)
        return _json(job.model_dump(mode="json"))

    @router.post("/jobs/{job_id}/retry")
    async def retry_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
        """Run a failed job again."""
        job = await services.jobs.retry(principal.user_id, job_id)
        return _json(job.model_dump(mode="json"))

    @router.delete("/jobs/{job_id}", status_code=204)
    async def delete_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
        """Delete a finished job."""
        await services.jobs.delete(principal.user_id, job_id)
        return Response(status_code=204)


def _schedule_routes(router: APIRouter) -> None:
    @router.post("/schedules", status_code=201)
    async def create_schedule(
        body: ScheduleCreate, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """A recurring job on a cron expression."""
        schedule = await services.jobs.create_schedule(principal.user_id, body)
        return _json(schedule.model_dump(mode="json"), 201)

    @router.get("/schedules")
    async def list_schedules(principal: PrincipalDep, services: ServicesDep) -> Response:
        """The caller's recurring jobs."""
        schedules = await services.jobs.list_schedules(principal.user_id)
        return _json({"items": [s.model_dump(mode="json") for s in schedules]})

    @router.delete("/schedules/{schedule_id}", status_code=204)
    async def delete_schedule(
        schedule_id: str, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Stop a recurring job."""
        await services.jobs.delete_schedule(principal.user_id, schedule_id)
        return Response(status_code=204)


def _live_routes(router: APIRouter) -> None:
    @router.get("/events")
    async def events(
        request: Request,
        principal: PrincipalDep,
        ctx: ContextDep,
        topic: Annotated[list[str] | None, Query(max_length=MAX_TOPICS)] = None,
    ) -> Response:
        """Server-sent events on the topics the caller may see (default: their own)."""
        topics = await ctx.topics.authorize_all(principal, topic or [user_topic(principal.user_id)])
        subscription = await ctx.bus.subscribe(topics)
        return event_stream_response(subscription)

    @router.post("/conversations/{conversation_id}/stop")
    async def stop_reply(
        conversation_id: str, principal: PrincipalDep, ctx: ContextDep
    ) -> Response:
        """Stop the reply being produced for a conversation, on any replica."""
        stopped = await ctx.replies.stop(principal.user_id, conversation_id)
        return _json({"stopped": stopped})

    @router.get("/usage")
    async def usage(principal: PrincipalDep, services: ServicesDep) -> Response:
        """The caller's calls, tokens and cost, overall and per model."""
        return _json((await services.usage.summary(principal.user_id)).model_dump(mode="json"))


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)
