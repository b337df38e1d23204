"""Helpers for the CloudToLocalLLM contract tests: the error format, checked in full."""

from __future__ import annotations

from typing import Any

import httpx

from tests.faces.cloudtolocalllm import golden


def error_of(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """The body of an error answer, after checking it against the document's format."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    optional = {"details"}
    assert set(body) - optional == set(golden.ERROR) - optional, body
    assert body["error"] == error, body
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert body["requestId"] == response.headers["x-request-id"]
    return body
