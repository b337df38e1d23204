"""PocketLLM's envelope: `{success, data, error, metadata}`, and its metadata."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request

from switchboard.api.middleware import request_id_of
from switchboard.api.responses import JSONResponse
from switchboard.kit.clock import iso_z, utcnow


def metadata(request: Request) -> dict[str, Any]:
    """When, which request (the `X-Request-ID` header's value) and how long it took (ms)."""
    state = request.scope.get("state", {})
    started = state.get("started")
    elapsed = 0.0 if started is None else (time.perf_counter() - started) * 1000
    return {
        "timestamp": iso_z(utcnow()),
        "requestId": request_id_of(request.scope),
        "processingTime": round(elapsed, 2),
    }


def ok(request: Request, data: Any, status_code: int = 200) -> JSONResponse:
    """A success in the envelope."""
    body = {"success": True, "data": data, "error": None, "metadata": metadata(request)}
    return JSONResponse(body, status_code=status_code)


def bare(data: Any, status_code: int = 200) -> JSONResponse:
    """A response the document shows without the envelope."""
    return JSONResponse(data, status_code=status_code)
