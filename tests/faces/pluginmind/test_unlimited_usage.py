"""`/me/usage` of a user without a monthly limit: `queries_limit` and
`remaining_queries` are null, `can_make_query` stays true, and analyses are counted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from switchboard.models.user import UNLIMITED_QUOTA
from tests.faces.pluginmind.conftest import PM


async def test_unlimited_usage(pm_factory: Callable[..., Awaitable[PM]]) -> None:
    pm = await pm_factory(default_monthly_quota=1)
    await pm.sign_in()
    user_id = (await pm.client.get("/me")).json()["id"]
    await pm.harness.run(lambda s: s.accounts.set_monthly_quota(user_id, UNLIMITED_QUOTA))

    for text in ("a", "b", "c"):
        assert (await pm.client.post("/process", json={"user_input": text})).status_code == 200

    usage = (await pm.client.get("/me/usage")).json()
    assert usage["queries_used"] == 3
    assert usage["queries_limit"] is None
    assert usage["remaining_queries"] is None
    assert usage["can_make_query"] is True
