"""Contract: `/v1/auth/*` as the document shows it, and its limits."""

from __future__ import annotations

import pytest

from tests.faces.pocketllm.conftest import (
    ISO_MS_Z,
    PASSWORD,
    UUID,
    Account,
    data_of,
    error_of,
    sign_up_and_in,
)
from tests.fixtures.app import Harness

pytestmark = pytest.mark.asyncio


class TestSignup:
    async def test_golden(self, harness: Harness) -> None:
        response = await harness.client.post(
            "/v1/auth/signup", json={"email": "new@example.com", "password": PASSWORD}
        )
        data = data_of(response, 201)
        assert set(data) == {"user", "session", "message"}
        user = data["user"]
        assert set(user) == {"id", "email", "created_at", "aud", "role"}
        assert UUID.match(user["id"])
        assert user["email"] == "new@example.com"
        assert ISO_MS_Z.match(user["created_at"])
        assert user["aud"] == "authenticated" and user["role"] == "authenticated"
        assert data["session"] is None
        assert data["message"] == "User created successfully. Please sign in to get a session."

    async def test_duplicate_email_is_409(self, harness: Harness) -> None:
        body = {"email": "dup@example.com", "password": PASSWORD}
        assert (await harness.client.post("/v1/auth/signup", json=body)).status_code == 201
        body["email"] = "DUP@example.com"
        message = error_of(await harness.client.post("/v1/auth/signup", json=body), 409)
        assert "already exists" in message

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"password": PASSWORD}, "email"),
            ({"email": "x@example.com"}, "password"),
            ({"email": "not-an-email", "password": PASSWORD}, "email"),
            ({"email": "x@example.com", "password": "short"}, "Password"),
            ({"email": "x@example.com", "password": PASSWORD, "admin": True}, "admin"),
            ({"email": "x\u0000@example.com", "password": PASSWORD}, "email"),
            ({"email": 5, "password": PASSWORD}, "email"),
            ({"email": "a" * 5000 + "@example.com", "password": PASSWORD}, "email"),
        ],
    )
    async def test_bad_input_is_400_naming_the_field(
        self, harness: Harness, body: dict[str, object], field: str
    ) -> None:
        message = error_of(await harness.client.post("/v1/auth/signup", json=body), 400)
        assert field in message

    async def test_malformed_json_is_400(self, harness: Harness) -> None:
        response = await harness.client.post(
            "/v1/auth/signup", content=b"{nope", headers={"content-type": "application/json"}
        )
        error_of(response, 400)


class TestSignin:
    async def test_golden(self, harness: Harness) -> None:
        await harness.client.post(
            "/v1/auth/signup", json={"email": "in@example.com", "password": PASSWORD}
        )
        response = await harness.client.post(
            "/v1/auth/signin", json={"email": "in@example.com", "password": PASSWORD}
        )
        data = data_of(response)
        assert set(data) == {"user", "session"}
        assert set(data["user"]) == {"id", "email", "created_at"}
        assert data["user"]["email"] == "in@example.com"
        session = data["session"]
        assert set(session) == {"access_token", "refresh_token", "expires_in", "token_type"}
        assert session["expires_in"] == 3600
        assert session["token_type"] == "bearer"
        profile = await harness.client.get(
            "/v1/users/profile", headers={"Authorization": f"Bearer {session['access_token']}"}
        )
        assert data_of(profile)["id"] == data["user"]["id"]

    async def test_wrong_password_and_unknown_email_answer_alike(
        self, harness: Harness, alice: Account
    ) -> None:
        wrong = await harness.client.post(
            "/v1/auth/signin", json={"email": alice.email, "password": "wrong-password-1"}
        )
        unknown = await harness.client.post(
            "/v1/auth/signin", json={"email": "nobody@example.com", "password": "whatever-123"}
        )
        assert error_of(wrong, 401) == error_of(unknown, 401)

    async def test_failed_attempts_are_limited_per_account(
        self, harness: Harness, alice: Account
    ) -> None:
        for _ in range(10):
            response = await harness.client.post(
                "/v1/auth/signin", json={"email": alice.email, "password": "wrong-password-1"}
            )
            assert response.status_code == 401
        locked = await harness.client.post(
            "/v1/auth/signin", json={"email": alice.email, "password": PASSWORD}
        )
        error_of(locked, 429)
        assert int(locked.headers["retry-after"]) >= 1
        # Another account is not affected.
        other = await sign_up_and_in(harness.client, "other@example.com")
        assert other.access_token

    async def test_successes_never_count(self, harness: Harness, alice: Account) -> None:
        for _ in range(15):
            response = await harness.client.post(
                "/v1/auth/signin", json={"email": alice.email, "password": PASSWORD}
            )
            assert response.status_code == 200


class TestRefresh:
    async def test_golden_and_rotation(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.post(
            "/v1/auth/refresh", json={"refresh_token": alice.refresh_token}
        )
        data = data_of(response)
        assert set(data) == {"tokens", "session"}
        tokens = data["tokens"]
        assert set(tokens) == {"access_token", "refresh_token", "expires_in", "token_type"}
        assert tokens["expires_in"] == 3600 and tokens["token_type"] == "bearer"
        assert tokens["refresh_token"] != alice.refresh_token
        assert set(data["session"]) == {"session_id", "expires_at"}
        assert UUID.match(data["session"]["session_id"])
        assert ISO_MS_Z.match(data["session"]["expires_at"])
        profile = await harness.client.get(
            "/v1/users/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        data_of(profile)

    async def test_reuse_revokes_the_family(self, harness: Harness, alice: Account) -> None:
        first = data_of(
            await harness.client.post(
                "/v1/auth/refresh", json={"refresh_token": alice.refresh_token}
            )
        )
        reused = await harness.client.post(
            "/v1/auth/refresh", json={"refresh_token": alice.refresh_token}
        )
        error_of(reused, 401)
        # The rotated token of the same family is dead too, and so are its access tokens.
        later = await harness.client.post(
            "/v1/auth/refresh", json={"refresh_token": first["tokens"]["refresh_token"]}
        )
        error_of(later, 401)
        profile = await harness.client.get(
            "/v1/users/profile",
            headers={"Authorization": f"Bearer {first['tokens']['access_token']}"},
        )
        error_of(profile, 401)

    async def test_unknown_token_is_401(self, harness: Harness) -> None:
        response = await harness.client.post("/v1/auth/refresh", json={"refresh_token": "nope"})
        error_of(response, 401)

    async def test_missing_token_is_400(self, harness: Harness) -> None:
        message = error_of(await harness.client.post("/v1/auth/refresh", json={}), 400)
        assert "refresh_token" in message


class TestAuthentication:
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}],
    )
    async def test_protected_routes_need_a_token(
        self, harness: Harness, headers: dict[str, str]
    ) -> None:
        error_of(await harness.client.get("/v1/chats", headers=headers), 401)
