"""The native face: jobs, schedules, events, stop and usage, owner-scoped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from switchboard.kit.clock import utcnow
from tests.fixtures.app import Harness
from tests.fixtures.jobs import MODULE
from tests.fixtures.waiting import eventually

BASE = "/switchboard/v1"


@pytest.fixture
async def app(harness_factory) -> Harness:  # type: ignore[no-untyped-def]
    return await harness_factory(extra_task_modules=[MODULE])


async def wait_for_status(
    app: Harness, headers: dict[str, str], job_id: str, status: str
) -> dict[str, Any]:
    """The job, once it reads `status`."""

    async def reached() -> dict[str, Any] | None:
        job: dict[str, Any] = (
            await app.client.get(f"{BASE}/jobs/{job_id}", headers=headers)
        ).json()
        return job if job["status"] == status else None

    return await eventually(reached, what=f"job {job_id} {status}")


class TestJobs:
    async def test_create_runs_and_completes(self, app: Harness) -> None:
        user = await app.user("a@example.com")
        created = await app.client.post(
            f"{BASE}/jobs",
            json={"type": "test.echo", "params": {"value": "hi"}},
            headers=user.headers,
        )
        assert created.status_code == 201
        body = created.json()
        assert body["status"] == "pending" and body["type"] == "test.echo"
        done = await wait_for_status(app, user.headers, body["id"], "completed")
        assert done["result"] is not None and done["progress"] == 1.0
        listing = (
            await app.client.get(f"{BASE}/jobs?status=completed", headers=user.headers)
        ).json()
        assert [j["id"] for j in listing["items"]] == [body["id"]] and listing["total"] == 1

    async def test_idempotency_key_returns_the_first_job(self, app: Harness) -> None:
        user = await app.user("a@example.com")
        job = {"type": "test.echo", "params": {"value": "x"}, "idempotency_key": "k1"}
        first = (await app.client.post(f"{BASE}/jobs", json=job, headers=user.headers)).json()
        second = (await app.client.post(f"{BASE}/jobs", json=job, headers=user.headers)).json()
        assert first["id"] == second["id"]

    async def test_cancel_a_scheduled_job_then_it_never_runs(self, app: Harness) -> None:
        user = await app.user("a@example.com")
        later = (utcnow() + timedelta(hours=1)).isoformat()
        job = (
            await app.client.post(
                f"{BASE}/jobs",
                json={"type": "test.echo", "params": {"value": "x"}, "run_at": later},
                headers=user.headers,
            )
        ).json()
        cancelled = await app.client.post(f"{BASE}/jobs/{job['id']}/cancel", headers=user.headers)
        assert cancelled.json()["status"] == "cancelled"
        again = await app.client.post(f"{BASE}/jobs/{job['id']}/cancel", headers=user.headers)
        assert again.status_code == 409
        assert (
            await app.client.delete(f"{BASE}/jobs/{job['id']}", headers=user.headers)
        ).status_code == 204

    async def test_retry_needs_a_failed_job(self, app: Harness) -> None:
        user = await app.user("a@example.com")
        crash = (
            await app.client.post(f"{BASE}/jobs", json={"type": "test.crash"}, headers=user.headers)
        ).json()
        failed = await wait_for_status(app, user.headers, crash["id"], "failed")
        assert "Traceback" not in (failed["error"] or "")
        retried = await app.client.post(f"{BASE}/jobs/{crash['id']}/retry", headers=user.headers)
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        echo = (
            await app.client.post(
                f"{BASE}/jobs",
                json={"type": "test.echo", "params": {"value": "x"}},
                headers=user.headers,
            )
        ).json()
        await wait_for_status(app, user.headers, echo["id"], "completed")
        refused = await app.client.post(f"{BASE}/jobs/{echo['id']}/retry", headers=user.headers)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "job_state_conflict"

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"type": "no.such.type"}, "unknown_job_type"),
            ({"type": "test.echo", "params": {"value": 5}}, "invalid_job_params"),
            ({"type": "test.echo", "params": {}, "surprise": 1}, "validation_error"),
        ],
    )
    async def test_bad_input_is_4xx(self, app: Harness, body: dict[str, Any], code: str) -> None:
        user = await app.user("a@example.com")
        response = await app.client.post(f"{BASE}/jobs", json=body, headers=user.headers)
        assert response.status_code in (400, 422)
        assert response.json()["error"]["code"] == code

    async def test_another_users_job_is_404_everywhere(self, app: Harness) -> None:
        alice = await app.user("a@example.com")
        bob = await app.user("b@example.com")
        job = (
            await app.client.post(
                f"{BASE}/jobs",
                json={"type": "test.echo", "params": {"value": "x"}},
                headers=alice.headers,
            )
        ).json()
        for method, path in [
            ("GET", f"/jobs/{job['id']}"),
            ("POST", f"/jobs/{job['id']}/cancel"),
            ("POST", f"/jobs/{job['id']}/retry"),
            ("DELETE", f"/jobs/{job['id']}"),
            ("GET", f"/jobs/{job['id'].upper()}"),
        ]:
            response = await app.client.request(method, BASE + path, headers=bob.headers)
            assert response.status_code == 404, (method, path)
        assert (await app.client.get(f"{BASE}/jobs", headers=bob.headers)).json()["total"] == 0


class TestSchedules:
    async def test_create_list_delete(self, app: Harness) -> None:
        user = await app.user("a@example.com")
        created = await app.client.post(
            f"{BASE}/schedules",
            json={"type": "test.echo", "params": {"value": "x"}, "cron": "*/5 * * * *"},
            headers=user.headers,
        )
        assert created.status_code == 201
        schedule = created.json()
        listing = (await app.client.get(f"{BASE}/schedules", headers=user.headers)).json()
        assert [s["id"] for s in listing["items"]] == [schedule["id"]]
        bob = await app.user("b@example.com")
        assert (
            await app.client.delete(f"{BASE}/schedules/{schedule['id']}", headers=bob.headers)
        ).status_code == 404
        assert (
            await app.client.delete(f"{BASE}/schedules/{schedule['id']}", headers=user.headers)
        ).status_code == 204

    async def test_bad_cron_is_400(self, app: Harness) -> None:
        user = await app.user("a@example.com")
        response = await app.client.post(
            f"{BASE}/schedules",
            json={"type": "test.echo", "params": {"value": "x"}, "cron": "every tuesday"},
            headers=user.headers,
        )
        assert response.status_code == 400 and response.json()["error"]["param"] == "cron"


class TestEventsAndStop:
    async def test_cannot_subscribe_to_another_users_topics(self, app: Harness) -> None:
        alice = await app.user("a@example.com")
        bob = await app.user("b@example.com")
        job = (
            await app.client.post(
                f"{BASE}/jobs",
                json={"type": "test.echo", "params": {"value": "x"}},
                headers=alice.headers,
            )
        ).json()
        for topic in (f"user:{alice.id}", f"task:{job['id']}", "system", "nonsense"):
            response = await app.client.get(
                f"{BASE}/events", params={"topic": topic}, headers=bob.headers
            )
            assert response.status_code in (400, 404), topic

    async def test_stop_with_nothing_running(self, app: Harness) -> None:
        from switchboard.core.conversations.schemas import ConversationCreate

        user = await app.user("a@example.com")
        chat = await app.run(lambda s: s.conversations.create(user.id, ConversationCreate()))
        response = await app.client.post(
            f"{BASE}/conversations/{chat.id}/stop", headers=user.headers
        )
        assert response.json() == {"stopped": False}
        bob = await app.user("b@example.com")
        response = await app.client.post(
            f"{BASE}/conversations/{chat.id}/stop", headers=bob.headers
        )
        assert response.status_code == 404

    async def test_usage_is_the_callers_own(self, app: Harness) -> None:
        alice = await app.user("a@example.com")
        bob = await app.user("b@example.com")
        await app.client.post(
            "/v1/chat/completions",
            json={"model": "echo/echo", "messages": [{"role": "user", "content": "x"}]},
            headers=alice.headers,
        )

        async def recorded() -> dict[str, Any] | None:
            usage: dict[str, Any] = (
                await app.client.get(f"{BASE}/usage", headers=alice.headers)
            ).json()
            return usage if usage["calls"] else None

        usage = await eventually(recorded, what="alice's call in her usage")
        assert usage["calls"] == 1
        assert (await app.client.get(f"{BASE}/usage", headers=bob.headers)).json()["calls"] == 0
