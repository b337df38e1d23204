"""Helpers for the Spoon Feeder contract tests: envelopes, and callers with credentials."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.app import Harness, User


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of `{success: true, data}`, after checking the envelope and status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True, body
    assert "data" in body, body
    return body["data"]


def message_of(response: httpx.Response, status: int = 200) -> str:
    """The `message` of `{success: true, message}`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True and set(body) == {"success", "message"}, body
    message: str = body["message"]
    return message


def error_of(response: httpx.Response, status: int, code: str | None = None) -> str:
    """The `error` of `{success: false, error, code, statusCode}`, after checking it all."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False, body
    assert body["statusCode"] == status
    assert isinstance(body["code"], str) and body["code"].isupper()
    if code is not None:
        assert body["code"] == code, body
    error: str = body["error"]
    return error


async def caller(harness: Harness, email: str = "sf@example.com") -> User:
    """A user whose API key authenticates (no local trust in tests: the ASGI client's
    peer is not loopback)."""
    return await harness.user(email)
