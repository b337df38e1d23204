"""Contract: `/v1/users/profile*`."""

from __future__ import annotations

import pytest

from tests.faces.pocketllm.conftest import ISO_MS_Z, Account, data_of, error_of
from tests.fixtures.app import Harness

pytestmark = pytest.mark.asyncio

PROFILE_FIELDS = {
    "id",
    "email",
    "full_name",
    "username",
    "bio",
    "date_of_birth",
    "profession",
    "heard_from",
    "avatar_url",
    "survey_completed",
    "age",
    "onboarding",
    "created_at",
    "updated_at",
}
UPDATE = {
    "full_name": "John Doe Updated",
    "username": "johndoe_new",
    "bio": "Senior Software Developer",
    "date_of_birth": "1990-01-01",
    "profession": "Senior Developer",
    "avatar_url": "https://example.com/new_avatar.jpg",
    "survey_completed": True,
}
ONBOARDING = {
    "full_name": "Ada Lovelace",
    "username": "adalovelace",
    "bio": "Working on AI productivity workflows",
    "date_of_birth": "1995-06-15",
    "profession": "Software Engineer",
    "heard_from": "Friend recommendation",
    "avatar_url": "https://example.com/avatar.png",
    "age": 28,
    "onboarding": {
        "primary_goal": "Improve daily productivity with AI assistance",
        "interests": ["Productivity", "Coding"],
        "experience_level": "Intermediate",
        "usage_frequency": "Daily",
        "other_notes": "Prefers concise answers and actionable steps.",
    },
}


class TestProfile:
    async def test_get_golden(self, harness: Harness, alice: Account) -> None:
        data = data_of(await harness.client.get("/v1/users/profile", headers=alice.headers))
        assert set(data) == PROFILE_FIELDS
        assert data["id"] == alice.id and data["email"] == alice.email
        assert data["survey_completed"] is False
        assert ISO_MS_Z.match(data["created_at"]) and ISO_MS_Z.match(data["updated_at"])

    async def test_put_golden(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.put("/v1/users/profile", headers=alice.headers, json=UPDATE)
        data = data_of(response)
        assert set(data) == PROFILE_FIELDS
        for name, value in UPDATE.items():
            assert data[name] == value
        again = data_of(await harness.client.get("/v1/users/profile", headers=alice.headers))
        assert again["username"] == "johndoe_new"

    async def test_put_is_partial(self, harness: Harness, alice: Account) -> None:
        await harness.client.put("/v1/users/profile", headers=alice.headers, json=UPDATE)
        data = data_of(
            await harness.client.put(
                "/v1/users/profile", headers=alice.headers, json={"bio": "Changed"}
            )
        )
        assert data["bio"] == "Changed" and data["full_name"] == "John Doe Updated"

    async def test_username_is_unique(self, harness: Harness, alice: Account, bob: Account) -> None:
        await harness.client.put("/v1/users/profile", headers=alice.headers, json=UPDATE)
        response = await harness.client.put(
            "/v1/users/profile", headers=bob.headers, json={"username": "johndoe_new"}
        )
        assert "username" in error_of(response, 409)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"date_of_birth": "1990-02-30"}, "date_of_birth"),
            ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
            ({"date_of_birth": "yesterday"}, "date_of_birth"),
            ({"username": "has space"}, "username"),
            ({"username": ""}, "username"),
            ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
            ({"bio": "x" * 2001}, "bio"),
            ({"bio": "nul\u0000byte"}, "bio"),
            ({"survey_completed": "maybe"}, "survey_completed"),
            ({"age": -1}, "age"),
            ({"email": "new@example.com"}, "email"),
        ],
    )
    async def test_bad_input_is_400_naming_the_field(
        self, harness: Harness, alice: Account, body: dict[str, object], field: str
    ) -> None:
        response = await harness.client.put("/v1/users/profile", headers=alice.headers, json=body)
        assert field in error_of(response, 400)


class TestOnboarding:
    async def test_golden(self, harness: Harness, alice: Account) -> None:
        response = await harness.client.post(
            "/v1/users/profile/onboarding", headers=alice.headers, json=ONBOARDING
        )
        data = data_of(response)
        assert set(data) == PROFILE_FIELDS
        for name, value in ONBOARDING.items():
            assert data[name] == value, name
        assert data["survey_completed"] is True
        assert data["email"] == alice.email

    async def test_unknown_onboarding_answer_is_400(self, harness: Harness, alice: Account) -> None:
        body = {**ONBOARDING, "onboarding": {"favourite_colour": "blue"}}
        response = await harness.client.post(
            "/v1/users/profile/onboarding", headers=alice.headers, json=body
        )
        assert "favourite_colour" in error_of(response, 400)


class TestDelete:
    async def test_golden_and_everything_goes(self, harness: Harness, alice: Account) -> None:
        chat = data_of(
            await harness.client.post("/v1/chats", headers=alice.headers, json={"title": "x"}),
            201,
        )
        response = await harness.client.delete("/v1/users/profile", headers=alice.headers)
        assert data_of(response) == {"message": "User account deleted successfully"}
        error_of(await harness.client.get("/v1/users/profile", headers=alice.headers), 401)
        signin = await harness.client.post(
            "/v1/auth/signin", json={"email": alice.email, "password": "securepassword123"}
        )
        error_of(signin, 401)

        async def chats_left(services):  # type: ignore[no-untyped-def]
            page = await services.conversations.list_conversations(alice.id)
            return page.total

        assert await harness.run(chats_left) == 0
        assert chat["id"]

    async def test_api_keys_cannot_delete_the_account(self, harness: Harness) -> None:
        user = await harness.user("keyed@example.com")
        response = await harness.client.delete("/v1/users/profile", headers=user.headers)
        error_of(response, 403)
