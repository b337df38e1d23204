"""Background jobs of any registered type (API keys need the `jobs` scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.api.inputs import Offset
from switchboard.api.openapi import amends, nul_free, raises
from switchboard.core.container import AppContext
from switchboard.core.errors import ErrorKind
from switchboard.core.jobs.schemas import JobRequest, JobStatus
from switchboard.faces.switchboard.routes import face_router, json

router = face_router("jobs")
# What `JobRequest` and `ScheduleCreate` say once the public types are known.
_AMENDED = "x-public-types"


def public_job_types(document: dict[str, Any], ctx: AppContext) -> None:
    """The bodies naming a job type take the public ones only, each with its parameters
    (none public: no body is valid, and the document says so)."""
    registry = ctx.jobs.registry
    public = [registry.get(name) for name in registry.names() if registry.get(name).public]
    schemas = document["components"]["schemas"]
    for name in ("JobRequest", "ScheduleCreate"):
        base = schemas.get(name)
        if base is None or _AMENDED in base:
            continue
        variants = []
        for job_type in public:
            params = job_type.params.model_json_schema(ref_template="#/components/schemas/{model}")
            for found, definition in params.pop("$defs", {}).items():
                schemas.setdefault(found, nul_free(definition))
            fields = {**base["properties"], "type": {"const": job_type.name}}
            variants.append({**base, "properties": {**fields, "params": nul_free(params)}})
        # None public: every body is refused (400 `unknown_job_type`); a schema nothing
        # satisfies would leave tools unable to show or try the operation at all.
        none = {**base["properties"]["type"], "description": "No job type is public here."}
        amended = {"oneOf": variants} if variants else _with_type(base, none)
        schemas[name] = {**amended, _AMENDED: [t.name for t in public]}


def _with_type(base: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return {**base, "properties": {**base["properties"], "type": schema}}


TAKES_PUBLIC_TYPES = amends(public_job_types)


@router.post("/jobs", status_code=201, openapi_extra=raises(ErrorKind.CONFLICT))
@TAKES_PUBLIC_TYPES
async def create_job(body: JobRequest, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Queue background work of a public job type."""
    job = await services.jobs.request(principal.user_id, body, source="native")
    return json(job.model_dump(mode="json"), 201)


@router.get("/jobs")
async def list_jobs(
    principal: PrincipalDep,
    services: ServicesDep,
    status: JobStatus | None = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Offset = 0,
) -> Response:
    """The caller's jobs, newest first."""
    page = await services.jobs.list_jobs(
        principal.user_id, status=status, type=type, limit=limit, offset=offset
    )
    return json({"items": [j.model_dump(mode="json") for j in page.items], "total": page.total})


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """One of the caller's jobs."""
    return json((await services.jobs.get(principal.user_id, job_id)).model_dump(mode="json"))


@router.post("/jobs/{job_id}/cancel", openapi_extra=raises(ErrorKind.CONFLICT))
async def cancel_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Cancel a pending job, or stop a running one (on whichever process runs it)."""
    job = await services.jobs.cancel(principal.user_id, job_id)
    return json(job.model_dump(mode="json"))


@router.post("/jobs/{job_id}/retry", openapi_extra=raises(ErrorKind.CONFLICT))
async def retry_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Run a failed job again."""
    job = await services.jobs.retry(principal.user_id, job_id)
    return json(job.model_dump(mode="json"))


@router.delete("/jobs/{job_id}", status_code=204, openapi_extra=raises(ErrorKind.CONFLICT))
async def delete_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Delete a finished job."""
    await services.jobs.delete(principal.user_id, job_id)
    return Response(status_code=204)
