"""The database view on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from switchboard.core.ops.sql import QueryResult, TableSchema

MAX_QUERY = 20_000


class QueryIn(BaseModel):
    """`POST /api/database/query` (`{query}`; the original's `/sql` sent `{sql}`)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        min_length=1,
        max_length=MAX_QUERY,
        pattern=r"^[^\x00]*$",
        validation_alias=AliasChoices("query", "sql"),
    )


def table_schema(schema: TableSchema) -> dict[str, Any]:
    """`{table, columns: [{name, type, nullable, default}]}`."""
    return {
        "table": schema.table,
        "columns": [
            {"name": c.name, "type": c.type, "nullable": c.nullable, "default": c.default}
            for c in schema.columns
        ],
    }


def query_result(result: QueryResult) -> dict[str, Any]:
    """`{rows, rowCount, fields}`, and `truncated` when the row cap cut the answer."""
    return {
        "rows": result.rows,
        "rowCount": result.row_count,
        "fields": result.fields,
        "truncated": result.truncated,
    }
