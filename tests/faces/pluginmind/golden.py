"""Golden transcripts: each response's status and body, with volatile values masked.

`assert_golden(name, response)` compares against `goldens/<name>.json`; run with
`UPDATE_GOLDENS=1` to (re)write them after a deliberate change, then read the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx

GOLDENS = Path(__file__).parent / "goldens"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_PERIOD = re.compile(r"^\d{4}-\d{2}$")
_VOLATILE_NUMBERS = {"response_time_ms", "id", "query_log_id", "active_jobs"}


def mask(value: Any, key: str | None = None) -> Any:
    """`value` with ids, timestamps and timings replaced by placeholders."""
    if isinstance(value, dict):
        return {_UUID.sub("<uuid>", k): mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str):
        if _TIMESTAMP.match(value):
            return "<timestamp>"
        if key == "correlation_id" and (_HEX_ID.match(value) or value):
            return "<correlation_id>"
        if key == "period" and _PERIOD.match(value):
            return "<period>"
        return _UUID.sub("<uuid>", value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key in _VOLATILE_NUMBERS:
        return "<number>"
    return value


def assert_golden(name: str, response: httpx.Response) -> None:
    """The masked transcript of `response` equals the stored golden `name`."""
    actual = {
        "status": response.status_code,
        "content_type": response.headers.get("content-type"),
        "body": mask(response.json()),
    }
    path = GOLDENS / f"{name}.json"
    if os.environ.get("UPDATE_GOLDENS"):
        GOLDENS.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    expected = json.loads(path.read_text())
    assert actual == expected, f"{name}: {json.dumps(actual, indent=2)}"
