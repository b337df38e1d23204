"""Issue 11, item 8: bad input is refused at the boundary, in each face's envelope.

A NUL in any text (a JSON string, a query parameter, a path parameter) failed the whole
statement on PostgreSQL (a 500); a 20-digit `?offset=` overflowed SQLite's driver (a
500) and broke asyncpg's connection. Every face route now refuses both before any
service runs; on SQLite, where a NUL is storable, it used to be accepted.
"""

from __future__ import annotations

import httpx
import pytest

from switchboard.kit.pagination import MAX_OFFSET
from tests.fixtures.app import Harness, User

HUGE = "99999999999999999999"


@pytest.fixture
async def user(harness: Harness) -> User:
    return await harness.user("input@example.com")


def assert_refused(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text)


class TestNul:
    async def test_pluginmind_user_input(self, harness: Harness, user: User) -> None:
        response = await harness.client.post(
            "/analyze-async", json={"user_input": "bitcoin\u0000"}, headers=user.headers
        )
        assert_refused(response, 422)
        assert response.json()["error"]["code"] == "INVALID_INPUT"

    async def test_native_job_idempotency_key(self, harness: Harness, user: User) -> None:
        response = await harness.client.post(
            "/switchboard/v1/jobs",
            json={"type": "image_generation", "params": {}, "idempotency_key": "k\u0000"},
            headers=user.headers,
        )
        assert_refused(response, 422)
        assert response.json()["error"]["param"] == "idempotency_key"

    async def test_native_schedule_name(self, harness: Harness, user: User) -> None:
        response = await harness.client.post(
            "/switchboard/v1/schedules",
            json={"type": "image_generation", "cron": "0 * * * *", "name": "n\u0000"},
            headers=user.headers,
        )
        assert_refused(response, 422)
        assert response.json()["error"]["param"] == "name"

    async def test_a_nul_nested_in_free_form_params(self, harness: Harness, user: User) -> None:
        response = await harness.client.post(
            "/switchboard/v1/jobs",
            json={"type": "image_generation", "params": {"prompt": ["ok", "\u0000"]}},
            headers=user.headers,
        )
        assert_refused(response, 422)
        assert response.json()["error"]["param"] == "params.prompt.1"

    @pytest.mark.parametrize("path", ["/switchboard/v1/jobs?type=a%00", "/v1/jobs?type=%00"])
    async def test_type_filter(self, harness: Harness, user: User, path: str) -> None:
        response = await harness.client.get(path, headers=user.headers)
        assert_refused(response, 400, 422)

    async def test_path_parameter(self, harness: Harness, user: User) -> None:
        response = await harness.client.delete(
            "/v1/providers/open%00ai", headers=user.token_headers
        )
        assert_refused(response, 400)
        assert response.json()["success"] is False

    async def test_gateway_message(self, harness: Harness, user: User) -> None:
        response = await harness.client.post(
            "/v1/chat/completions",
            json={"model": "echo", "messages": [{"role": "user", "content": "a\u0000"}]},
            headers=user.headers,
        )
        assert_refused(response, 400)
        assert response.json()["error"]["param"] == "messages.0.content"

    async def test_anonymous_callers_are_refused_for_their_credentials_first(
        self, harness: Harness
    ) -> None:
        response = await harness.client.get("/switchboard/v1/jobs?type=%00")
        assert_refused(response, 401)


class TestPaging:
    @pytest.mark.parametrize(
        "path",
        [
            f"/switchboard/v1/jobs?offset={HUGE}",
            f"/v1/chats?offset={HUGE}",
            f"/v1/jobs?offset={HUGE}&limit={HUGE}",
            f"/query-logs?limit={HUGE}",
            f"/switchboard/v1/jobs?offset=-{HUGE}",
        ],
    )
    async def test_huge_numbers_are_refused(self, harness: Harness, user: User, path: str) -> None:
        response = await harness.client.get(path, headers=user.headers)
        assert_refused(response, 400, 422)

    async def test_the_largest_offset_any_database_takes_is_an_empty_page(
        self, harness: Harness, user: User
    ) -> None:
        response = await harness.client.get(
            f"/switchboard/v1/jobs?offset={MAX_OFFSET}", headers=user.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []
        past = await harness.client.get(
            f"/switchboard/v1/jobs?offset={MAX_OFFSET + 1}", headers=user.headers
        )
        assert_refused(past, 422)
