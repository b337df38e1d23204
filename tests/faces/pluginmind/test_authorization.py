"""Nobody sees another user's jobs, logs or usage; only an admin may read others' logs."""

from __future__ import annotations

import pytest

from tests.faces.pluginmind.conftest import PM, wait_for_job

pytestmark = pytest.mark.asyncio


async def test_users_are_isolated(pm: PM) -> None:
    alice = pm.client
    bob = pm.new_client()
    await pm.sign_in("alice@example.com", client=alice)
    await pm.sign_in("bob@example.com", client=bob)

    job_id = (await alice.post("/analyze-async", json={"user_input": "alice's secret"})).json()[
        "job_id"
    ]
    await alice.post("/process", json={"user_input": "alice's query"})
    await wait_for_job(alice, job_id)
    alice_id = (await alice.get("/me")).json()["id"]

    assert (await bob.get(f"/analyze-async/{job_id}")).status_code == 404
    assert (await bob.delete(f"/jobs/{job_id}")).status_code == 404
    assert (await bob.get("/jobs")).json() == {"total_jobs": 0, "jobs": {}}
    assert (await bob.get("/query-logs")).json() == {"total_logs": 0, "logs": []}
    assert (await bob.get("/me/usage")).json()["queries_used"] == 0
    naming = await bob.get("/query-logs", params={"user_id": alice_id})
    assert naming.status_code == 403
    by_email = await bob.get("/query-logs", params={"user_id": "alice@example.com"})
    assert by_email.status_code == 403

    # Alice still has everything.
    assert (await alice.get(f"/analyze-async/{job_id}")).status_code == 200
    assert (await alice.get("/query-logs")).json()["total_logs"] == 2
    await bob.aclose()


async def test_admin_may_read_another_users_logs(pm: PM) -> None:
    await pm.sign_in("alice@example.com")
    await pm.client.post("/process", json={"user_input": "hello"})
    alice_id = (await pm.client.get("/me")).json()["id"]
    admin = await pm.harness.user("root@example.com", admin=True)
    response = await pm.client.get(
        "/query-logs", params={"user_id": alice_id}, headers=admin.token_headers
    )
    assert response.status_code == 200
    assert response.json()["total_logs"] == 1
    by_email = await pm.client.get(
        "/query-logs", params={"user_id": "alice@example.com"}, headers=admin.token_headers
    )
    assert by_email.json()["total_logs"] == 1
    unknown = await pm.client.get(
        "/query-logs", params={"user_id": "nobody@example.com"}, headers=admin.token_headers
    )
    assert unknown.status_code == 404


async def test_other_faces_jobs_are_not_listed(pm: PM) -> None:
    from switchboard.core.jobs.schemas import JobCreate

    await pm.sign_in()
    user_id = (await pm.client.get("/me")).json()["id"]

    async def image_job(services):  # type: ignore[no-untyped-def]
        return await services.jobs.create(
            user_id,
            JobCreate(type="image_generation", params={"prompt": "x", "model": "dall-e-2"}),
        )

    job = await pm.harness.run(image_job)
    assert (await pm.client.get("/jobs")).json()["total_jobs"] == 0
    assert (await pm.client.get(f"/analyze-async/{job.id}")).status_code == 404
