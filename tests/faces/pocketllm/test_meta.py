"""Docs paths, root fields, request ids and oversized bodies."""

from __future__ import annotations

from switchboard.faces.pocketllm import root_fields
from tests.faces.pocketllm.conftest import Account, data_of, error_of
from tests.fixtures.app import Harness


async def test_legacy_docs_path_leads_to_swagger(harness: Harness) -> None:
    response = await harness.client.get("/api/docs", follow_redirects=True)
    assert response.status_code == 200 and "swagger" in response.text.lower()


def test_root_fields_name_the_docs_path() -> None:
    assert root_fields() == {"docs": "/docs", "legacy_docs": "/api/docs"}
    assert root_fields(docs_enabled=False) == {"docs": None, "legacy_docs": None}


async def test_a_clients_request_id_is_echoed_in_the_envelope(
    harness: Harness, alice: Account
) -> None:
    response = await harness.client.get(
        "/v1/users/profile", headers={**alice.headers, "X-Request-ID": "client-id-123"}
    )
    data_of(response)
    assert response.json()["metadata"]["requestId"] == "client-id-123"


async def test_oversized_body_is_413_in_the_envelope(harness: Harness, alice: Account) -> None:
    response = await harness.client.post(
        "/v1/chats", headers=alice.headers, json={"title": "x" * 2_000_000}
    )
    error_of(response, 413)
