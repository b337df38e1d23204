"""Docs paths, root fields, request ids and oversized bodies."""

from __future__ import annotations

from switchboard.api.admission import admission_of
from switchboard.api.faces import api_routes
from switchboard.faces.pocketllm import FACE, PocketLLMOptions, root_fields
from tests.faces.pocketllm.conftest import Account, data_of, error_of, sign_up_and_in
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


def test_every_route_declares_its_admission() -> None:
    routers = [*FACE.routers, *FACE.optional_routers(PocketLLMOptions(docs_enabled=True))]
    for route in (r for router in routers for r in api_routes(router.routes)):
        assert admission_of(route) is not None, route.path


async def test_root_names_the_legacy_docs_path(harness_factory) -> None:  # type: ignore[no-untyped-def]
    served = await harness_factory()
    assert (await served.client.get("/")).json()["legacy_docs"] == "/api/docs"
    hidden = await harness_factory(enable_swagger_docs=False)
    assert (await hidden.client.get("/")).json()["legacy_docs"] is None


async def test_models_alone_answers_only_its_own_fields(harness_factory) -> None:  # type: ignore[no-untyped-def]
    # OpenAI's `object` and `data` are the OpenAI face's part of `GET /v1/models`.
    harness = await harness_factory(faces=["pocketllm"])
    alice = await sign_up_and_in(harness.client, "alice@example.com")
    body = (await harness.client.get("/v1/models", headers=alice.headers)).json()
    assert set(body) == {"models", "message", "configured_providers", "missing_providers"}


async def test_requests_carry_the_rate_limit_headers(harness: Harness, alice: Account) -> None:
    response = await harness.client.get("/v1/chats", headers=alice.headers)
    assert response.headers["x-ratelimit-limit"] == "600"
    assert int(response.headers["x-ratelimit-remaining"]) < 600
    enhanced = await harness.client.post(
        "/v1/prompt-enhancer/improve", headers=alice.headers, json={"prompt": "x"}
    )
    assert enhanced.headers["x-ratelimit-limit"] == "10"
    assert enhanced.headers["x-ratelimit-remaining"] == "9"
