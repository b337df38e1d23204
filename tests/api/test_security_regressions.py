"""Regression corpora from advisories of similar servers: Host-header and path tricks
never bypass auth."""

from __future__ import annotations

import pytest

from tests.fixtures.app import Harness

CHAT = {"model": "echo/echo", "messages": [{"role": "user", "content": "x"}]}

# LiteLLM CVE-2026-49468 style: auth decisions must not depend on the Host header.
HOST_PAYLOADS = [
    "localhost",
    "127.0.0.1",
    "evil.example.com",
    "localhost:8000/health#",
    "127.0.0.1/metrics?",
    "[::1]",
    "localhost\r\nX-Injected: 1",
]

# Flowise-style path tricks: case, doubled slashes, encodings, trailing parts.
PATH_PAYLOADS = [
    "/V1/chat/completions",
    "/v1/CHAT/COMPLETIONS",
    "//v1/chat/completions",
    "/v1//chat/completions",
    "/v1/chat/completions/",
    "/v1/chat/completions;/healthz",
    "/v1/chat/%63ompletions",
    "/v1/./chat/completions",
    "/healthz/../v1/chat/completions",
]


@pytest.mark.parametrize("host", HOST_PAYLOADS)
async def test_host_header_never_grants_access(harness: Harness, host: str) -> None:
    response = await harness.client.post(
        "/v1/chat/completions", json=CHAT, headers={"Host": host.replace("\r\n", "")}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("path", PATH_PAYLOADS)
async def test_path_tricks_never_reach_a_handler_unauthenticated(
    harness: Harness, path: str
) -> None:
    response = await harness.client.post(path, json=CHAT)
    assert response.status_code in (401, 404, 405, 307)
    assert "choices" not in response.text


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer sb-x", "Token abc", "Bearer " + "a" * 5000],
)
async def test_malformed_authorization_is_401(harness: Harness, header: str) -> None:
    response = await harness.client.post(
        "/v1/chat/completions", json=CHAT, headers={"Authorization": header}
    )
    assert response.status_code == 401


async def test_forged_jwt_with_alg_none_is_401(harness: Harness) -> None:
    import base64
    import json

    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    user = await harness.user("a@example.com")
    token = (
        part({"alg": "none", "typ": "JWT"}) + "." + part({"sub": user.id, "typ": "access"}) + "."
    )
    response = await harness.client.post(
        "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_another_users_revoked_key_stays_dead(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    keys = await harness.run(lambda s: s.accounts.list_api_keys(user.id))
    await harness.run(lambda s: s.accounts.revoke_api_key(user.id, keys[0].id))
    response = await harness.client.post("/v1/chat/completions", json=CHAT, headers=user.headers)
    assert response.status_code == 401
