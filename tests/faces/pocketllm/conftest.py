"""Helpers for the PocketLLM contract tests: accounts through the face, envelope checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fixtures.app import Harness

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PASSWORD = "securepassword123"


@dataclass
class Account:
    """A PocketLLM user signed in through the face."""

    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_up_and_in(client: httpx.AsyncClient, email: str) -> Account:
    """Sign up and sign in through the face."""
    response = await client.post("/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    response = await client.post("/v1/auth/signin", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return Account(
        data["user"]["id"],
        email,
        data["session"]["access_token"],
        data["session"]["refresh_token"],
    )


def check_metadata(response: httpx.Response, body: dict[str, Any]) -> None:
    """The envelope's metadata: ISO timestamp with ms and Z, the request id, a duration."""
    meta = body["metadata"]
    assert set(meta) == {"timestamp", "requestId", "processingTime"}
    assert ISO_MS_Z.match(meta["timestamp"])
    assert meta["requestId"] == response.headers["x-request-id"]
    assert isinstance(meta["processingTime"], int | float) and meta["processingTime"] >= 0
    assert round(meta["processingTime"], 2) == meta["processingTime"]


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of a success envelope, after checking the whole envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "data", "error", "metadata"}
    assert body["success"] is True and body["error"] is None
    check_metadata(response, body)
    return body["data"]


def error_of(response: httpx.Response, status: int) -> str:
    """The message of an error envelope, after checking the whole envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "data", "error", "metadata"}
    assert body["success"] is False and body["data"] is None
    assert set(body["error"]) == {"message"}
    check_metadata(response, body)
    message: str = body["error"]["message"]
    assert message
    return message


@pytest.fixture
async def alice(harness: Harness) -> Account:
    """A signed-in user."""
    return await sign_up_and_in(harness.client, "alice@example.com")


@pytest.fixture
async def bob(harness: Harness) -> Account:
    """Another signed-in user."""
    return await sign_up_and_in(harness.client, "bob@example.com")
