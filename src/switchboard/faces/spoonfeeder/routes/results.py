"""What finished tasks produced: list, get, download, delete."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from switchboard.api.context import ServicesDep
from switchboard.api.inputs import Offset
from switchboard.core.tasks.schemas import TaskType
from switchboard.faces.spoonfeeder import tasks_wire as wire
from switchboard.faces.spoonfeeder.auth import PrincipalDep
from switchboard.faces.spoonfeeder.envelope import done, ok, paged
from switchboard.faces.spoonfeeder.routes.common import (
    DEFAULT_LIMIT,
    Limit,
    Page,
    admit,
    api_router,
)

router = api_router(admit("jobs"))

FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The result: text as a text file, media with its stored type",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "image/*": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/results", response_model=None)
async def list_results(
    principal: PrincipalDep,
    services: ServicesDep,
    type: TaskType | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    page: Page | None = None,
) -> Response:
    """The caller's results, newest first; the total counts the filtered results."""
    shown, skip = wire.window(page, limit, offset)
    listed = await services.results.list_results(principal.user_id, type, limit=limit, offset=skip)
    data = [wire.result_json(r) for r in listed.items]
    return paged(data, page=shown, limit=limit, total=listed.total or 0)


@router.get("/results/{result_id}", response_model=None)
async def get_result(result_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """One result, with its task's name, provider and prompt."""
    result = await services.results.get(principal.user_id, result_id)
    return ok(wire.result_json(result, with_prompt=True))


@router.get("/results/{result_id}/download", response_model=None, responses=FILE)
async def download_result(
    result_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Text as `result_<id>.txt`; a file with its forced stored type (never sniffed)."""
    download = await services.results.download(principal.user_id, result_id)
    if download.media is not None:
        return Response(content=download.media.body, headers=download.media.headers)
    return Response(
        content=download.text or "",
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="result_{download.result.id}.txt"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.delete("/results/{result_id}", response_model=None)
async def delete_result(result_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Delete a result and its file."""
    await services.results.delete(principal.user_id, result_id)
    return done("Result deleted")
