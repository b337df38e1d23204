"""A read-only view of the database, for the owner or an administrator.

Off unless the server listens on loopback only or the operator turns it on
(`SWITCHBOARD_DATABASE_API`); queries are single checked SELECTs run read-only with a
deadline and a row cap, and tables holding secrets are never shown (`core.ops.sql`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from switchboard.api.context import ServicesDep
from switchboard.api.openapi import PATH_SEGMENT, raises
from switchboard.core.errors import ErrorKind
from switchboard.faces.spoonfeeder import database_wire as wire
from switchboard.faces.spoonfeeder.auth import PrincipalDep
from switchboard.faces.spoonfeeder.envelope import ok
from switchboard.faces.spoonfeeder.routes.common import admit, api_router

router = api_router(admit("admin"))

TableName = Annotated[str, Path(min_length=1, max_length=128, pattern=PATH_SEGMENT)]


@router.get(
    "/database/tables",
    response_model=None,
    openapi_extra=raises(ErrorKind.PERMISSION_DENIED),
)
async def list_tables(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The tables a query may read."""
    return ok(await services.sql.tables(principal))


@router.get(
    "/database/tables/{name}/schema",
    response_model=None,
    openapi_extra=raises(ErrorKind.PERMISSION_DENIED),
)
async def table_schema(name: TableName, principal: PrincipalDep, services: ServicesDep) -> Response:
    """One table's columns: name, type, nullable, default."""
    return ok(wire.table_schema(await services.sql.schema(principal, name)))


@router.post(
    "/database/query",
    response_model=None,
    openapi_extra=raises(ErrorKind.INVALID, ErrorKind.PERMISSION_DENIED),
)
@router.post(
    "/database/sql",
    response_model=None,
    openapi_extra=raises(ErrorKind.INVALID, ErrorKind.PERMISSION_DENIED),
)
async def run_query(body: wire.QueryIn, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Run one SELECT read-only: `{rows, rowCount, fields, truncated}`."""
    return ok(wire.query_result(await services.sql.query(principal, body.query)))
