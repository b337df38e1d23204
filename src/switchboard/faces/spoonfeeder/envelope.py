"""Spoon Feeder's success envelopes: `{success, data}`, `{success, data, pagination}` and
`{success, message}`."""

from __future__ import annotations

import math
from typing import Any

from switchboard.api.responses import JSONResponse


def ok(data: Any, status_code: int = 200) -> JSONResponse:
    """`{success: true, data}`."""
    return JSONResponse({"success": True, "data": data}, status_code=status_code)


def paged(data: list[Any], *, page: int, limit: int, total: int) -> JSONResponse:
    """`{success: true, data, pagination: {page, limit, total, totalPages}}`."""
    pagination = {
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": math.ceil(total / limit) if limit else 0,
    }
    return JSONResponse({"success": True, "data": data, "pagination": pagination})


def done(message: str, status_code: int = 200) -> JSONResponse:
    """`{success: true, message}`: an operation without data to return."""
    return JSONResponse({"success": True, "message": message}, status_code=status_code)
